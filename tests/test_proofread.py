"""The proofreader finds each kind of slip, and leaves sound text alone."""

from hwr.book.proofread import problems, visible_text


def test_each_kind_of_slip_is_found():
    assert problems("a CER of 69.5 % % on IAM-B") == ['doubled unit: "69.5 % %"']
    assert problems("The CER falls by +0.32 points.") == ['sign against its verb: "falls by +0.32"']
    assert problems("The WER rises by \u22121.20 points.") == ['sign against its verb: "rises by \u22121.20"']
    assert problems("Two runs could not be measured: their checkpoints are gone.")[0].startswith(
        "note on how the runs were produced")


def test_sound_text_passes():
    text = ("The CER falls by 0.32 points and the WER rises by 1.20 points; 95 % of the lines read right, "
            "12.0 % against 14.1 %, a difference of +2.10 points.")
    assert problems(text) == []


def test_the_visible_text_of_a_page_drops_markup_and_scripts():
    page = "<html><script>var x = '5 % %';</script><p>12.0&nbsp;%</p><p>%</p></html>"
    assert visible_text(page).split() == ["12.0", "%", "%"]
    assert problems(visible_text(page)) == ['doubled unit: "12.0 % %"']


def test_figures_get_their_captions_first_sentence_as_alt_text():
    from hwr.book.site import describe_figures

    page = ('<figure id="f"><img alt="../_images/abc.svg" src="../_images/abc.svg" /><figcaption><p>'
            '<span class="caption-number">Fig. 1 </span><span class="caption-text">The thesis&#8217;s '
            '<code>gate_1</code> curves.\nThin lines per seed.</span></p></figcaption></figure>'
            '<img alt="logo.png" src="logo.png" />')
    out = describe_figures(page)
    assert 'alt="The thesis’s gate_1 curves."' in out
    assert 'alt="logo.png"' in out  # an image outside a captioned figure is left alone
