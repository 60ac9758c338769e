"""Operations around a build: `pull.py` fetches a source before it (`vgdata pull`, `pull: true`),
`card.py` writes the dataset card a build ends with, `publish.py` puts a checked, audited build on
the Hugging Face Hub (`vgdata publish`)."""
