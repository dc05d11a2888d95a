"""Finding and fingerprinting the files a source delivers."""
