"""The daily run's stages, one plugin module each: ingest, embed, prefilter, judge, tournament."""
