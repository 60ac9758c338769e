"""Segmenter quality on the bundled sample: mean IoU of predicted masks with the true masks.

    python benchmarks/segmenter_quality.py [--sample out/sample] [--segmenter grabcut]
    python benchmarks/segmenter_quality.py --segmenter sam2 --checkpoint sam2.1_hiera_base_plus.pt \
        --model-config configs/sam2.1/sam2.1_hiera_b+.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipeline.sample.data import write_sample  # noqa: E402
from pipeline.sample.segmenter_quality import segmenter_quality  # noqa: E402
from pipeline.stages.segmenters.base import SegmenterSettings  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", help="sample folder (written to a temp dir when omitted)")
    p.add_argument("--segmenter", default="grabcut", choices=["grabcut", "sam2"])
    p.add_argument("--checkpoint")
    p.add_argument("--model-config", default="configs/sam2.1/sam2.1_hiera_b+.yaml")
    p.add_argument("--image-size", type=int)
    a = p.parse_args()
    sample = a.sample or tempfile.mkdtemp(prefix="vgdata-sample-")
    write_sample(sample)
    settings = SegmenterSettings(name=a.segmenter, checkpoint=a.checkpoint, model_config=a.model_config,
                                 image_size=a.image_size)
    q = segmenter_quality(sample, settings)
    for o in q:
        print(f"{o.source:6s} {o.video_id:10s} object {o.object_id:8s} mean IoU {o.mean_iou:.3f} over {o.n_frames} frames")
    frames = sum(o.n_frames for o in q)
    print(f"{a.segmenter}: mean IoU {sum(o.mean_iou * o.n_frames for o in q) / frames:.3f} over {frames} object-frames")


if __name__ == "__main__":
    main()
