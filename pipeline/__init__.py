"""vgdata pipeline: the stages that turn canonical video records into dataset rows.

Data flows one way: converters -> records -> sampling -> (segment -> filter) -> points -> rows
-> shards -> manifest. Every module here is plain Python and runs without Prefect.
"""

__version__ = "0.1.0"
