"""Small synthetic sequences in the real MOTChallenge and LaSOT layouts, with any length and frame
rate: the cases the bundled sample does not have (a 70 s video, 25 fps, a capitalised sentence).
Rendered by `pipeline.sample_data.render`, so the true masks are known."""

from __future__ import annotations

import os

from PIL import Image

from pipeline import sample_data as S


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
