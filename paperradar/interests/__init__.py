"""What the reader cares about: the profile, the library, feedback and the scores learnt from it."""
