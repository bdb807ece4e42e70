"""build_report: turn a Markdown report manuscript into a tagged PDF and an accessible EPUB."""

__version__ = "0.1.0"
