"""What the reader sees: the digest's renderings, delivery, the static site and the web app."""
