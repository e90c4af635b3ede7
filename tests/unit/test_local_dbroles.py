"""Who logs in as whom (functions/manifest.json), and local mode's role URLs (invoice_local/dbroles.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from invoice_local import dbroles, manifest
from invoice_local.terraform import _var_args

ADMIN = "postgresql://postgres:s3cret@127.0.0.1:5433/it_one?sslmode=disable"


def test_every_connecting_function_names_a_role_and_only_migrate_is_the_master() -> None:
    roles = manifest.database_roles()
    by_role = {k: f.database_role for k, f in manifest.functions().items()}
    assert {k for k, r in by_role.items() if r == "migration"} == {"migrate"}
    assert by_role["api"] == "api"
    for key, fn in manifest.functions().items():
        assert (fn.database_role is not None) == fn.database, key
        assert fn.database_role in (None, "migration", *roles), key


def test_role_urls_name_the_role_keep_the_server_and_agree_across_databases() -> None:
    urls = dbroles.role_urls(ADMIN)
    assert set(urls) == set(manifest.database_roles())
    for key, url in urls.items():
        parts = urlsplit(url)
        assert parts.username == manifest.database_roles()[key]
        assert (parts.hostname, parts.port, parts.path, parts.query) == ("127.0.0.1", 5433, "/it_one",
                                                                         "sslmode=disable")
        assert parts.password == dbroles.logins(ADMIN)[parts.username] != "s3cret"
    # Roles belong to the cluster: another database of it gets the same passwords, another cluster others.
    other_db = dbroles.role_urls(ADMIN.replace("it_one", "it_two"))
    assert {k: urlsplit(u).password for k, u in other_db.items()} == {k: urlsplit(u).password for k, u in urls.items()}
    other_cluster = dbroles.role_urls(ADMIN.replace("s3cret", "other"))
    assert urlsplit(other_cluster["api"]).password != urlsplit(urls["api"]).password


def test_a_url_with_its_user_in_the_query_is_refused() -> None:
    with pytest.raises(ValueError, match="before the host"):
        dbroles.role_urls("postgresql://127.0.0.1/db?user=postgres")


def test_terraform_gets_the_role_urls_as_an_hcl_map() -> None:
    variables = dbroles.with_database_roles({"database_url": ADMIN, "log_level": "INFO"})
    args = _var_args(variables)
    assert args[0] == f"-var=database_url={ADMIN}" and args[1] == "-var=log_level=INFO"
    assert args[2].startswith('-var=database_role_urls={"pipeline": "postgresql://invoice_pipeline:')
    assert dbroles.with_database_roles({"log_level": "INFO"}) == {"log_level": "INFO"}
