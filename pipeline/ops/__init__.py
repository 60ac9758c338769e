"""Operations around a build: fetching sources (`pull`). Publishing and scheduling come next; the
stages themselves stay in `pipeline/`."""
