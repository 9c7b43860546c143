from tests.conftest import Built


def test_fixture_vault_unlocks_and_adds_a_user(built: Built) -> None:
    built.add("bob", "staff")
    with built.unlock("bob") as bob:
        assert bob.roles == frozenset({"staff"})
