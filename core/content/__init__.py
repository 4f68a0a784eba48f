"""What the bytes are: content identity (sampled BLAKE3), kinds and MIME types, full-hash
verification, reading a file safely below its location, and the extractors that derive EXIF,
OCR text and thumbnails (docs/architecture.md §3)."""
