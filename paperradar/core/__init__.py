"""The core: configuration, records, the store, the model clients and the pipeline runner."""
