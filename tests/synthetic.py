"""Small synthetic sequences in the real MOTChallenge and LaSOT layouts, with any length and frame
rate: the cases the bundled sample does not have (a 70 s video, 25 fps, a capitalised sentence).
Rendered by `pipeline.sample.data.render`, so the true masks are known."""

from __future__ import annotations

import os

from PIL import Image

from pipeline.sample import data as S


def mot_sequence(root: str, name: str, fps: int, seconds: float, width: int = 96, height: int = 64) -> dict:
    """`root/train/<name>/{img1, gt/gt.txt, seqinfo.ini}`: a walking person and a disc that hides for
    20 frames. Returns the rendered frames (RGB) so tests can compare decoded video against them."""
    n = int(fps * seconds)
    scene = S.Scene(n_frames=n, seed=5, shapes=[
        S.Shape(1, "person", (220, 40, 40), (8, 18), (10, 30), (60 / n, 0.0), z=1),
        S.Shape(2, "disc", (40, 70, 220), (9, 9), (70, 40), (-40 / n, -5 / n), z=2, hidden=(n // 3, n // 3 + 20)),
    ])
    frames, visible, full = S.render(scene, width, height)
    seq = os.path.join(root, "train", name)
    os.makedirs(os.path.join(seq, "img1"), exist_ok=True)
    os.makedirs(os.path.join(seq, "gt"), exist_ok=True)
    for i, f in enumerate(frames, 1):
        Image.fromarray(f).save(os.path.join(seq, "img1", f"{i:06d}.jpg"), quality=95)
    with open(os.path.join(seq, "seqinfo.ini"), "w") as f:
        f.write(f"[Sequence]\nname={name}\nimDir=img1\nframeRate={fps}\nseqLength={n}\nimWidth={width}\n"
                f"imHeight={height}\nimExt=.jpg\n")
    lines = []
    for t in range(n):
        for s in scene.shapes:
            box = S._bbox(full[t][s.obj_id])
            if box is None:
                continue
            x0, y0, x1, y1 = box
            vis = visible[t][s.obj_id].sum() / max(1, full[t][s.obj_id].sum())
            lines.append(f"{t + 1},{s.obj_id},{x0 + 1},{y0 + 1},{x1 - x0},{y1 - y0},1,1,{vis:.3f}")
    with open(os.path.join(seq, "gt", "gt.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return {"frames": frames, "visible": visible}


def lasot_sequence(root: str, cls: str, name: str, seconds: float, sentence: str, fps: int = 30,
                   width: int = 96, height: int = 64) -> None:
    """`root/<cls>/<name>/{img, groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt}`: a
    disc rolling behind a wall."""
    n = int(fps * seconds)
    scene = S.Scene(n_frames=n, seed=9, occluders=[(40, 0, 50, height)],
                    shapes=[S.Shape(1, "disc", (220, 30, 30), (7, 7), (5, 30), (85 / n, 0.0), z=1)])
    frames, visible, full = S.render(scene, width, height)
    seq = os.path.join(root, cls, name)
    os.makedirs(os.path.join(seq, "img"), exist_ok=True)
    gt, occ, oov = [], [], []
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(os.path.join(seq, "img", f"{i + 1:08d}.jpg"), quality=95)
        box = S._bbox(full[i][1])
        gt.append("0,0,0,0" if box is None else f"{box[0]},{box[1]},{box[2] - box[0]},{box[3] - box[1]}")
        hidden = 1 - visible[i][1].sum() / max(1, full[i][1].sum())
        occ.append("1" if hidden > 0.9 else "0")
        oov.append("1" if box is None else "0")
    for fname, content in (("groundtruth.txt", "\n".join(gt) + "\n"), ("full_occlusion.txt", ",".join(occ)),
                           ("out_of_view.txt", ",".join(oov)), ("nlp.txt", sentence)):
        with open(os.path.join(seq, fname), "w") as f:
            f.write(content)


def paint_boxes(folder: str, n: int, width: int, height: int, boxes: dict[int, list[tuple]], digits: int = 6,
                start: int = 1, every: int = 1, ext: str = ".jpg", prefix: str = "") -> None:
    """Frames for a real ground truth: each frame's boxes `(track, x0, y0, x1, y1)` (0-based pixels)
    painted as filled ellipses in a colour per track over a grey noise background, so that a
    segmenter finds an object that fills its box. With `every` = k only every k-th frame (the ones
    a 2 fps build samples) is painted; the others are a tiny placeholder that the build never reads,
    which keeps long real sequences cheap. `digits` 0 = unpadded names; `prefix` goes before the
    number (UAVDT's `img000001.jpg`)."""
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    noise = (rng.normal(128, 12, (height, width, 3))).clip(0, 255).astype(np.uint8)
    placeholder = os.path.join(folder, "..", ".placeholder" + ext)
    Image.new("RGB", (8, 8)).save(placeholder)
    for i in range(n):
        path = os.path.join(folder, prefix + (f"{i + start:0{digits}d}{ext}" if digits else f"{i + start}{ext}"))
        if i % every:
            os.link(placeholder, path)
            continue
        img = noise.copy()
        for track, x0, y0, x1, y1 in boxes.get(i, []):
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max(1.0, (x1 - x0) / 2), max(1.0, (y1 - y0) / 2)
            r0, r1 = max(0, int(y0)), min(height, int(np.ceil(y1)))
            c0, c1 = max(0, int(x0)), min(width, int(np.ceil(x1)))
            if r1 <= r0 or c1 <= c0:
                continue
            yy, xx = np.mgrid[r0:r1, c0:c1]
            inside = ((xx + 0.5 - cx) / rx) ** 2 + ((yy + 0.5 - cy) / ry) ** 2 <= 1
            colour = np.array([(track * 67) % 200 + 40, (track * 131) % 200 + 40, (track * 29) % 200 + 40], np.uint8)
            img[r0:r1, c0:c1][inside] = colour
        Image.fromarray(img).save(path, quality=90)


def mot_boxes(gt_path: str) -> dict[int, list[tuple]]:
    """{0-based frame: [(track, x0, y0, x1, y1)]} of a MOTChallenge gt.txt (any separator)."""
    out: dict[int, list[tuple]] = {}
    for line in open(gt_path).read().splitlines():
        if line.strip():
            v = [float(x) for x in line.replace(" ", "").split(",")]
            out.setdefault(int(v[0]) - 1, []).append((int(v[1]), v[2] - 1, v[3] - 1, v[2] - 1 + v[4], v[3] - 1 + v[5]))
    return out


def sot_boxes(gt_path: str) -> dict[int, list[tuple]]:
    """{0-based frame: [(1, x0, y0, x1, y1)]} of a single-object `x,y,w,h` file (zero rows left out)."""
    out: dict[int, list[tuple]] = {}
    lines = [ln for ln in open(gt_path, newline="").read().splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        x, y, w, h = (float(v) for v in line.replace(" ", "").split(","))
        if w > 0 and h > 0:
            out[i] = [(1, x, y, x + w, y + h)]
    return out


def sot_sequence(seq, n=30, frames="img", digits=6, start=1, gt="groundtruth.txt"):
    """A small synthetic sequence: a box drifting right; returns its boxes."""
    boxes = {i: [(1, 10 + i, 20, 40 + i, 60)] for i in range(n)}
    seq.mkdir(parents=True, exist_ok=True)
    (seq / gt).write_text("\r\n".join(f"{x0:.0f},{y0:.0f},{x1 - x0:.0f},{y1 - y0:.0f}"
                                      for i in range(n) for _, x0, y0, x1, y1 in boxes[i]))
    paint_boxes(str(seq / frames) if frames else str(seq), n, 128, 96, boxes, digits=digits, start=start)
    return boxes
