"""`make family`: a working model family from a CSV file or folder (see `__main__`)."""
