"""The bundled sample and what is measured against its truth, apart from the pipeline: `data.py`
writes small synthetic videos in the real layouts of SA-V, MOTChallenge and LaSOT (with every
object's true mask), `segmenter_quality.py` scores a segmenter's masks against those truths."""
