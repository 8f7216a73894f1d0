"""Community signals beside the pipeline: Hugging Face and Hacker News, trending papers."""
