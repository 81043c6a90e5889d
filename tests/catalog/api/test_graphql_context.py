from types import SimpleNamespace

from catalog.api.auth import Principal
from catalog.api.graphql_context import Context


def _context() -> Context:
    state = SimpleNamespace(catalog=SimpleNamespace(store=object()), settings=None, hub=None, auditor=None)
    return Context(state, Principal(actor="local", role="admin"))


def test_a_loader_is_made_on_first_use_kept_for_the_request_and_fresh_for_the_next():
    first, second = _context(), _context()
    assert "datasets" not in vars(first)  # a request that loads nothing makes no loader
    loader = first.datasets
    assert first.datasets is loader and vars(first)["datasets"] is loader
    assert second.datasets is not loader  # a loader's cache lives as long as its request
    assert first.jobs is not loader
