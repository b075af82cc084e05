"""The editors' interface: every model, the review and publication workflow, history with
revert, merging duplicates, the proposals queue and document import."""

from . import datasets, documents, entries, proposals  # noqa: F401
