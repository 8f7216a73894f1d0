"""What the user sees: the digest's formats, delivery, the static site and the web app."""
