// Every figure opens full size in a new tab when clicked (SVG stays sharp at any zoom).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("figure img, .cell_output img").forEach((img) => {
    if (img.closest("a")) return;
    const a = document.createElement("a");
    a.href = img.src;
    a.target = "_blank";
    a.className = "hwr-full-size";
    a.title = "open full size";
    img.parentNode.insertBefore(a, img);
    a.appendChild(img);
  });
});
