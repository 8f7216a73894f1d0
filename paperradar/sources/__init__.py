"""Where papers and signals come from: arXiv, Hugging Face, Hacker News."""
