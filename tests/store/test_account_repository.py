"""AccountRepository: the one account, its workspaces, inputs and connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from app.core.errors import ConflictError, DataError
from app.core.models import Account, Connection, Input, Workspace
from app.store import AccountData, AccountRepository, Database
from app.store.schema import AccountRow, ConnectionRow

StoreAccount = Callable[[Database, AccountData], None]


def _load(database: Database) -> AccountData | None:
    with database.transaction() as session:
        return AccountRepository(session).load()


def test_a_new_database_has_no_account(db: Database) -> None:
    assert _load(db) is None


def test_everything_round_trips_through_close_and_reopen(
    db_url: str, account_data: AccountData, store_account_into: StoreAccount
) -> None:
    with Database(db_url) as first:
        store_account_into(first, account_data)
    with Database(db_url) as second:
        loaded = _load(second)
    assert loaded is not None
    assert loaded.account == account_data.account
    assert loaded.workspaces == account_data.workspaces
    assert loaded.inputs == account_data.inputs
    by_name = sorted(account_data.connections, key=lambda c: c.name.casefold())
    assert loaded.connections == tuple(by_name)
    assert {c.id: c.settings for c in loaded.connections} == {
        c.id: c.settings for c in account_data.connections
    }


def test_workspaces_and_inputs_come_back_in_position_order(db: Database) -> None:
    first, second = Workspace(name="First"), Workspace(name="Second")
    late = Input(workspace_id=first.id, name="Late", platform="web")
    early = Input(workspace_id=first.id, name="Early", kind="partner")
    other = Input(workspace_id=second.id, name="Other", platform="iOS")
    with db.transaction() as session:
        repo = AccountRepository(session)
        repo.save_account(Account())
        repo.add_workspace(second, 1)
        repo.add_workspace(first, 0)
        repo.add_input(other, 0)
        repo.add_input(late, 5)
        repo.add_input(early, 2)
    loaded = _load(db)
    assert loaded is not None
    assert loaded.workspaces == (first, second)
    assert loaded.inputs == (early, late, other)


def test_save_account_updates_name_and_limit(db: Database) -> None:
    account = Account(name="Before", active_audience_limit=25)
    with db.transaction() as session:
        AccountRepository(session).save_account(account)
    changed = account.model_copy(update={"name": "After", "active_audience_limit": 3})
    with db.transaction() as session:
        AccountRepository(session).save_account(changed)
    loaded = _load(db)
    assert loaded is not None and loaded.account == changed


def test_each_change_of_the_account_bumps_its_version(db: Database) -> None:
    account = Account(name="Acme", active_audience_limit=25)
    with db.transaction() as session:
        assert AccountRepository(session).save_account(account) == 1
    with db.transaction() as session:
        assert AccountRepository(session).save_account(account, 1) == 2
    loaded = _load(db)
    assert loaded is not None and loaded.version == 2


def test_a_stale_account_change_is_a_conflict_and_overwrites_nothing(db: Database) -> None:
    """Two windows loaded version 1; the first sets the limit to 8, the second to 6."""
    account = Account(name="Acme", active_audience_limit=25)
    with db.transaction() as session:
        AccountRepository(session).save_account(account)
    with db.transaction() as session:
        AccountRepository(session).save_account(
            account.model_copy(update={"active_audience_limit": 8}), 1
        )
    with pytest.raises(ConflictError, match=r"another window.*limit is now 8"), \
            db.transaction() as session:
        AccountRepository(session).save_account(
            account.model_copy(update={"active_audience_limit": 6}), 1
        )
    loaded = _load(db)
    assert loaded is not None
    assert loaded.account.active_audience_limit == 8 and loaded.version == 2


def test_a_second_lock_waits_for_the_first_transaction_and_then_sees_its_changes(
    db_url: str,
) -> None:
    """What keeps two saves that check the limit from both reading the old state."""
    with Database(db_url) as window_a, Database(db_url) as window_b:
        account = Account(name="Acme", active_audience_limit=25)
        with window_a.transaction() as session:
            AccountRepository(session).save_account(account)
        seen: list[BaseException | int] = []

        def lock_b() -> None:
            try:
                with window_b.transaction() as session:
                    accounts = AccountRepository(session)
                    accounts.lock()
                    seen.append(accounts.stored_account()[0].active_audience_limit)
            except BaseException as exc:  # handed back to the test thread
                seen.append(exc)

        with window_a.transaction() as session:
            accounts = AccountRepository(session)
            accounts.lock()
            thread = threading.Thread(target=lock_b)
            thread.start()
            thread.join(timeout=0.5)
            assert thread.is_alive(), f"B did not wait for A's lock: {seen}"
            accounts.save_account(account.model_copy(update={"active_audience_limit": 3}), 1)
        thread.join(timeout=15)
        assert not thread.is_alive()
        assert seen == [3]


def test_there_is_one_account_per_database(db: Database) -> None:
    with db.transaction() as session:
        AccountRepository(session).save_account(Account(name="Owner"))
    with pytest.raises(DataError, match="“Owner”"), db.transaction() as session:
        AccountRepository(session).save_account(Account(name="Intruder"))
    loaded = _load(db)
    assert loaded is not None and loaded.account.name == "Owner"


def test_save_connection_replaces_name_partner_and_settings(
    seeded_db: Database, account_data: AccountData
) -> None:
    original = account_data.connections[0]
    changed = original.model_copy(
        update={
            "name": "Renamed",
            "partner": "facebook_custom_audiences",
            "settings": {"list": {"id": "L1", "tags": ["a", "b"]}},
            "secret_ref": "env:FACEBOOK_TOKEN",
        }
    )
    added = Connection(name="Files", partner="file_drop", settings={"path": "/srv/drop"})
    with seeded_db.transaction() as session:
        repo = AccountRepository(session)
        repo.save_connection(changed)
        repo.save_connection(added)
    loaded = _load(seeded_db)
    assert loaded is not None
    by_id = {c.id: c for c in loaded.connections}
    assert by_id[original.id] == changed
    assert by_id[added.id] == added
    assert len(by_id) == len(account_data.connections) + 1


def test_workspace_and_connection_need_the_account_first(db: Database) -> None:
    with pytest.raises(DataError, match="before the account"), db.transaction() as session:
        AccountRepository(session).add_workspace(Workspace(name="Orphan"), 0)
    with pytest.raises(DataError, match="before the account"), db.transaction() as session:
        AccountRepository(session).save_connection(Connection(name="Orphan"))


def test_input_needs_its_workspace(seeded_db: Database) -> None:
    stray = Input(workspace_id="gone", name="Stray")
    with pytest.raises(DataError, match="“Stray”"), seeded_db.transaction() as session:
        AccountRepository(session).add_input(stray, 0)


def test_adding_a_workspace_twice_is_refused(
    seeded_db: Database, account_data: AccountData
) -> None:
    again = account_data.workspaces[0]
    with pytest.raises(DataError, match=again.name), seeded_db.transaction() as session:
        AccountRepository(session).add_workspace(again, 9)


def test_invalid_stored_rows_are_data_errors_naming_the_record(
    seeded_db: Database, account_data: AccountData
) -> None:
    with seeded_db.transaction() as session:
        session.execute(update(AccountRow).values(active_audience_limit=-5))
    with pytest.raises(DataError, match="account"):
        _load(seeded_db)
    with seeded_db.transaction() as session:
        session.execute(update(AccountRow).values(active_audience_limit=5))
        session.execute(
            update(ConnectionRow)
            .where(ConnectionRow.id == account_data.connections[0].id)
            .values(partner="carrier_pigeon")
        )
    with pytest.raises(DataError, match=account_data.connections[0].name):
        _load(seeded_db)


def test_saving_a_workspace_or_input_again_renames_and_moves_it(
    seeded_db: Database, account_data: AccountData
) -> None:
    mobile, web = account_data.workspaces
    ios, android, storefront, zendesk = account_data.inputs
    with seeded_db.transaction() as session:
        repo = AccountRepository(session)
        repo.save_workspace(web.model_copy(update={"name": "Website"}), 0)
        repo.place_workspaces([web.id, mobile.id])
        repo.save_input(android.model_copy(update={"name": "Android TV",
                                                   "platform": "Android"}), 0)
        repo.place_inputs([android.id, ios.id])
    loaded = _load(seeded_db)
    assert loaded is not None
    assert loaded.workspaces == (web.model_copy(update={"name": "Website"}), mobile)
    assert loaded.inputs == (storefront, zendesk, android.model_copy(
        update={"name": "Android TV"}), ios)


def test_event_counts_are_per_input_and_leave_out_inputs_without_events(
    seeded_db: Database, account_data: AccountData, tmp_path: Path
) -> None:
    from app.ingest.importer import import_files

    ios, android, storefront, _ = account_data.inputs
    for input_, users in ((ios, 3), (storefront, 5)):
        path = tmp_path / f"{input_.id}.csv"
        path.write_text("user_id,timestamp,event_name\n" + "".join(
            f"u{n},2026-10-27T08:00:00Z,Watch content\n" for n in range(users)))
        import_files(seeded_db, [path], format="csv", input_id=input_.id)
    with seeded_db.transaction() as session:
        repo = AccountRepository(session)
        assert repo.event_counts() == {ios.id: 3, storefront.id: 5}
        assert repo.event_counts([ios.id, android.id]) == {ios.id: 3}
        assert repo.event_counts([]) == {}
