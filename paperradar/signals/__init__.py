"""Community signals: trending papers, discussions and citations from outside arXiv."""
