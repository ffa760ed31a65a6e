"""The ResNet CRNN of seed 001 (hwr.models.crnn): frames per line under both
column reductions, the CTC shortcut head, and its loss in training."""

from __future__ import annotations

import pytest
import torch

from hwr.models.crnn import CRNNConfig, ResNetCRNN
from hwr.preprocess import Batch
from hwr.training.losses import batch_loss, ctc_loss

SMALL = dict(widths=(8, 8, 16, 16), hidden=8, lstm_layers=1)


def small(**kw) -> ResNetCRNN:
    torch.manual_seed(0)
    return ResNetCRNN(CRNNConfig(**{**SMALL, **kw}), "crnn_test")


@pytest.mark.parametrize("height", [32, 64])
def test_max_pooling_gives_a_frame_per_four_pixels_of_width_as_output_width_says(height):
    model = small(input_height=height).eval()
    for width in (64, 100, 257, 258, 259):
        out = model(torch.rand(2, 1, height, width))
        assert out.shape[0] == 2 and out.shape[2] == 81 and out.shape[1] in (width // 4, width // 4 + 1)
        assert int(model.output_width(torch.tensor([width]))[0]) == out.shape[1]
    assert torch.allclose(out.exp().sum(-1), torch.ones(out.shape[:2]), atol=1e-5)


def test_stretching_gives_every_line_the_same_frames():
    model = small(pool="stretch", steps=24).eval()
    for width in (64, 300):  # 16 columns stretched to 24, 75 squeezed to 24
        assert model(torch.rand(1, 1, 32, width)).shape == (1, 24, 81)
    assert model.output_width(torch.tensor([40, 400])).tolist() == [24, 24]


def test_the_shortcut_head_is_an_extra_output_only_when_asked():
    model = small().eval()
    x = torch.rand(2, 1, 32, 96)
    main, short = model(x, shortcut=True)
    assert short.shape == main.shape and torch.equal(main, model(x))
    assert not any("Flex" in type(m).__name__ for m in model.modules())
    assert "shortcut_head.weight" in model.state_dict()
    without = small(shortcut=0.0)
    assert without.shortcut_head is None and "shortcut_head.weight" not in without.state_dict()
    with pytest.raises(ValueError, match="without a shortcut head"):
        without(x, shortcut=True)


def test_training_adds_the_weighted_shortcut_loss_and_inference_drops_it():
    model = small(shortcut=0.1)
    texts = ["ab c", "bad"]
    batch = Batch(torch.rand(2, 1, 32, 96), torch.tensor([96, 80]), texts, ["l0", "l1"])
    torch.manual_seed(1)
    loss, log_probs, frames = batch_loss(model, batch, "cpu")
    model.eval()  # no dropout: the same outputs as the training call's, recomputed
    main, short = model(batch.images, shortcut=True)
    model.train()
    frames = model.output_width(batch.widths)
    expected = ctc_loss(main, frames, texts) + 0.1 * ctc_loss(short, frames, texts)
    assert loss.item() != pytest.approx(ctc_loss(main, frames, texts).item())
    model.eval()
    eval_loss, _, _ = batch_loss(model, batch, "cpu")
    assert eval_loss.item() == pytest.approx(ctc_loss(main, frames, texts).item(), rel=1e-5)
    assert expected.item() > eval_loss.item()
    loss.backward()
    assert model.shortcut_head.weight.grad is not None and model.shortcut_head.weight.grad.abs().sum() > 0


def test_the_seeds_resnet34_size_and_refused_configurations():
    full = ResNetCRNN(CRNNConfig(widths=(64, 128, 256, 512), blocks=(3, 4, 6, 3), hidden=256), "resnet34")
    encoder = sum(p.numel() for p in full.encoder.parameters())
    assert 21_000_000 < encoder < 21_500_000  # ResNet-34's convolutions and norms, without its fc layer
    with pytest.raises(ValueError, match="pool must be"):
        CRNNConfig(pool="mean")
    with pytest.raises(ValueError, match="multiple of 16"):
        CRNNConfig(input_height=40)


def test_registered_beside_the_thesis_models_without_changing_their_list():
    from hwr.models import EXPERIMENTS, MODELS, SEED_MODELS, build
    from hwr.models.registry import model_config

    assert len(EXPERIMENTS) == 21 and {"crnn", "crnn_r34", "proj", "proj_conv"} <= set(SEED_MODELS)
    assert MODELS == {**EXPERIMENTS, **SEED_MODELS}
    assert all(e.source == "thesis" and e.architecture == "thesis" for e in EXPERIMENTS.values())
    assert all(e.thesis_state_count is None and e.source.startswith("seed") for e in SEED_MODELS.values())
    model = build("crnn", pool="stretch", input_height=32)
    assert isinstance(model, ResNetCRNN) and model.config.pool == "stretch" and model.family == "ctc"
    with pytest.raises(TypeError, match="unknown override"):
        model_config("crnn", gates=1)  # a thesis knob is not a CRNN one


def test_a_checkpoint_of_the_crnn_rebuilds_the_same_network(tmp_path):
    import json

    from hwr.models import build
    from hwr.models.io import load_checkpoint, model_from_checkpoint, save_model

    torch.manual_seed(0)
    model = build("crnn", shortcut=0.0).eval()
    path = tmp_path / "crnn.pt"
    save_model(path, model)
    ckpt = load_checkpoint(path)
    assert ckpt["architecture"] == "crnn"
    # the stored configuration survives JSON (tuples come back as lists) and still equals the registry's
    ckpt["model_config"] = json.loads(json.dumps(ckpt["model_config"]))
    again = model_from_checkpoint(ckpt, path=path, experiment="crnn", shortcut=0.0)
    x = torch.rand(2, 1, model.input_height, 96)
    with torch.no_grad():
        assert torch.allclose(model(x), again(x))
