"""The document pipeline: extract text, find what it names, propose projects."""
