"""The core: records, configuration, the store, the LLM and embedding models, the pipeline runner."""
