"""Question templates: the one place they live.

Templates follow Molmo2's data formatter (olmo/preprocessing/data_formatter.py); one is chosen per
row with the row's seeded generator so that builds are reproducible. Point questions use the label
lower-cased, as Molmo2's AcademicVideoPoint loader does (its validation question is fixed:
`How many "label" are there in the video?`). Answers are made in `molmo_text`.
"""

from __future__ import annotations

import numpy as np

POINT_COUNT_TEMPLATES = (
    "Point to {label} in the video and count them.",
    "Count the {label} in this video, pointing to each one.",
    "How many {label} are there? Point to each of them.",
)
POINT_COUNT_VAL_TEMPLATE = 'How many "{label}" are there in the video?'

TRACK_TEMPLATES = (
    "Track {label}.",
    "Track {label} in {fps} FPS.",
    "Track {label} at {fps} FPS",
    "track the {label}.",
)

SINGLE_POINT_TRACK_TEMPLATES = (
    "Track {input_points} in {fps} FPS.",
    "Track the object at {input_points} in {fps} FPS.",
    "Object tracking: {input_points} starting position, {fps} FPS rate.",
)

GROUND_TEMPLATES = (
    "Where does each {label} first appear in the video, and where is it last seen? Point to both.",
    "Point to every {label} at the first and at the last moment it is visible.",
    "Mark the first and the last appearance of each {label} with a point.",
)


VALIDATION_SPLITS = ("val", "valid", "validation", "valid_u")


def choose(templates: tuple[str, ...], rng: np.random.Generator, **fields) -> str:
    return templates[int(rng.integers(len(templates)))].format(**fields)


def point_question(label: str, split: str, rng: np.random.Generator) -> str:
    label = label.lower()
    if split in VALIDATION_SPLITS:
        return POINT_COUNT_VAL_TEMPLATE.format(label=label)
    return choose(POINT_COUNT_TEMPLATES, rng, label=label)
