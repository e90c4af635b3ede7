"""Save and restore the emulation's whole state: what `terraform apply` deployed, kept for reuse.

Against AWS, and against this emulation alike, a fresh apply of terraform/ spends about a minute in the AWS
provider's fixed consistency waits (see README "Local mode: deploy time"): they poll a fixed number of times
at fixed intervals even when every read-back already matches. The deployment a Terraform run produced is
therefore kept: right after a successful apply, moto's backends (every account and region of every service
in use) are pickled beside the Terraform state, under a key of everything the apply read. A later start with
the same key restores that state into a fresh emulation instead of re-applying: the same resources, produced
by the same Terraform, with no second path that creates resources.

moto's backends pickle except for a few objects that hold OS or crypto handles; `_REDUCERS` says how each is
rebuilt. That list is the seam: tests/integration/test_emulation_canary.py pickles a deployed emulation and
fails if a moto upgrade adds an object this module cannot carry."""

from __future__ import annotations

import collections
import copyreg
import functools
import importlib
import io
import pickle
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from moto.core.base_backend import AccountSpecificBackend, BackendDict, backend_lock

# Bumped when what a snapshot holds, or how it is read, changes: older snapshots are then ignored.
FORMAT = 1


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, None)


def _reduce_private_key(key: Any) -> tuple[Any, tuple[bytes]]:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return _load_private_key, (pem,)


def _reduce_defaultdict(obj: collections.defaultdict[Any, Any]) -> tuple[Any, ...]:
    """moto builds some defaultdicts with lambdas (`defaultdict(lambda: {})`), which pickle cannot name:
    a factory that makes an empty builtin container is replaced by that container's type."""
    factory = obj.default_factory
    if factory is not None and getattr(factory, "__name__", "") == "<lambda>":
        made = factory()
        if type(made) in (dict, list, set) and not made:
            factory = type(made)
        else:
            raise pickle.PicklingError(f"a defaultdict's factory makes {made!r}: not restorable")
    return collections.defaultdict, (factory,), None, None, iter(obj.items())


@functools.cache
def _reducers() -> dict[type, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    lock_types = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}
    reducers: dict[type, Any] = {t: (lambda _obj, make=make: (make, ())) for t, make in lock_types.items()}
    # Indexes by weak reference (Lambda keeps its functions by ARN in one): their entries are carried, and
    # stay alive because the backend holds the same objects strongly.
    for weak in (weakref.WeakValueDictionary, weakref.WeakKeyDictionary):
        reducers[weak] = lambda obj, weak=weak: (weak, (), None, None, iter(list(obj.items())))
    reducers[collections.defaultdict] = _reduce_defaultdict
    reducers[threading.Event] = lambda _obj: (threading.Event, ())
    reducers[threading.Condition] = lambda _obj: (threading.Condition, ())
    # cryptography's key classes are abstract; the concrete (Rust) classes are what pickle meets.
    for key in (rsa.generate_private_key(65537, 1024), ec.generate_private_key(ec.SECP256R1())):
        reducers[type(key)] = _reduce_private_key
    return reducers


def _address(backends: BackendDict[Any]) -> str:
    """Where a BackendDict lives, "module:attribute": the service name is not unique (Step Functions has a
    plain and an executing backend, both "stepfunctions")."""
    module = sys.modules[backends.backend.__module__]
    for attr, value in vars(module).items():
        if value is backends:
            return f"{module.__name__}:{attr}"
    raise pickle.PicklingError(f"no module-level name for the {backends.service_name} backends")


def _backends_at(address: str) -> BackendDict[Any]:
    module, _, attr = address.partition(":")
    found = getattr(importlib.import_module(module), attr)
    if not isinstance(found, BackendDict):
        raise ValueError(f"{address} is not a moto BackendDict")
    return found


def capture() -> dict[str, dict[str, dict[str, Any]]]:
    """BackendDict address -> account -> region -> backend, for every backend in use."""
    state: dict[str, dict[str, dict[str, Any]]] = {}
    with backend_lock:
        for backends in BackendDict._instances:  # type: ignore[misc]
            accounts = {account: dict(per_account.items()) for account, per_account in backends.items()}
            if any(accounts.values()):
                state[_address(backends)] = accounts
    return state


def dumps() -> bytes:
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()  # type: ignore[misc]
    pickler.dispatch_table.update(_reducers())  # type: ignore[misc]
    pickler.dump({"format": FORMAT, "backends": capture()})
    return buf.getvalue()


def loads(data: bytes) -> None:
    """Replace the emulation's state with a snapshot's (services not in it are left as they are)."""
    snapshot = pickle.loads(data)  # noqa: S301 - our own file, written by dumps() on this machine
    if snapshot.get("format") != FORMAT:
        raise ValueError(f"snapshot format {snapshot.get('format')} is not {FORMAT}")
    for address, accounts in snapshot["backends"].items():
        backends = _backends_at(address)
        with backend_lock:
            backends.clear()
        for account, regions in accounts.items():
            per_account: AccountSpecificBackend[Any] = backends[account]  # creates it, registers the dict
            for region, backend in regions.items():
                dict.__setitem__(per_account, region, backend)
    # Environments of functions the snapshot holds unchanged stay warm; every other one is retired.
    from invoice_local.emulation import lambda_runner

    lambda_runner.restored()


def save(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(dumps())
    tmp.replace(path)  # never a half-written snapshot


def restore(path: Path) -> None:
    loads(path.read_bytes())
