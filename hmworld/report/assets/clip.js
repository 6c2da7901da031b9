// Clip page: draws each chosen subject's mask over the video at the frame on show.
// Masks come as tiled strips (one PNG per subject, frame t at tile t), see hmworld/report/media.py.
(function () {
  "use strict";
  const player = document.getElementById("player");
  const video = player.querySelector("video");
  const canvas = player.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const fps = Number(player.dataset.fps), frames = Number(player.dataset.frames);
  const tw = Number(player.dataset.tileWidth), th = Number(player.dataset.tileHeight), cols = Number(player.dataset.cols);
  const boxes = Array.from(document.querySelectorAll("input.mask-subject"));
  const all = document.getElementById("mask-all");
  const strips = boxes.map((b) => { const img = new Image(); img.src = b.dataset.strip; img.onload = draw; return img; });

  function frameNow(t) { return Math.max(0, Math.min(frames - 1, Math.floor(t * fps + 1e-3))); }

  function draw(t) {
    const f = frameNow(typeof t === "number" ? t : video.currentTime);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!all.checked) return;
    ctx.imageSmoothingEnabled = false;
    boxes.forEach((b, k) => {
      if (b.checked && strips[k].complete && strips[k].naturalWidth) {
        ctx.drawImage(strips[k], (f % cols) * tw, Math.floor(f / cols) * th, tw, th, 0, 0, canvas.width, canvas.height);
      }
    });
    player.dataset.frame = String(f);
  }

  function onFrame(_now, meta) { draw(meta.mediaTime); video.requestVideoFrameCallback(onFrame); }
  if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(onFrame);
  for (const ev of ["seeked", "timeupdate", "loadeddata"]) video.addEventListener(ev, () => draw());
  for (const b of [all, ...boxes]) b.addEventListener("change", () => draw());
  draw();
})();
