"""The stages one video goes through, in order: records (the canonical form converters produce),
sampling (the 2 fps grid), frames and segmenters (box sources: pixels -> SAM 2 or GrabCut masks),
track_filter (mean mask/box IoU), png_masks and masks (mask sources), points, questions, rows and
molmo_text (Molmo2's rows and plain-text answers); process runs them for one video."""
