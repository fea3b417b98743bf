import pytest

from wizard.core.account import parse_account
from wizard.core.errors import InvalidAccountError


@pytest.mark.parametrize(
    ("typed", "base_url", "subdomain", "platform"),
    [
        ("mycompany", "https://mycompany.amocrm.ru", "mycompany", "amocrm"),
        ("  MyCompany  ", "https://mycompany.amocrm.ru", "mycompany", "amocrm"),
        ("mycompany.amocrm.ru", "https://mycompany.amocrm.ru", "mycompany", "amocrm"),
        ("mycompany.amocrm.com/", "https://mycompany.kommo.com", "mycompany", "kommo"),
        ("https://MyCompany.amocrm.com", "https://mycompany.kommo.com", "mycompany", "kommo"),
        ("https://mycompany.amocrm.ru/leads", "https://mycompany.amocrm.ru", "mycompany", "amocrm"),
        ("https://mycompany.amocrm.ru?x=1", "https://mycompany.amocrm.ru", "mycompany", "amocrm"),
        ("mycompany.kommo.com/leads/pipeline/1#card", "https://mycompany.kommo.com", "mycompany", "kommo"),
        ("my-company.kommo.com", "https://my-company.kommo.com", "my-company", "kommo"),
        ("HTTPS://MyCompany.amoCRM.ru/", "https://mycompany.amocrm.ru", "mycompany", "amocrm"),
        ("https://mycompany.kommo.com", "https://mycompany.kommo.com", "mycompany", "kommo"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765", "", "sandbox"),
        ("http://localhost:9000/", "http://localhost:9000", "", "sandbox"),
    ],
)
def test_accepted_forms_normalise_to_the_base_url(
    typed: str, base_url: str, subdomain: str, platform: str
) -> None:
    account = parse_account(typed)
    assert (account.base_url, account.subdomain, account.platform) == (base_url, subdomain, platform)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "my company",
        "https://",
        "ftp://mycompany.amocrm.ru",
        "javascript:alert(1)",
        "http://mycompany.amocrm.ru",  # plain http off loopback
        "http://evil.example.com",
        "https://mycompany.example.com",
        "https://www.amocrm.ru",
        "https://user@mycompany.amocrm.ru",
        "mycompany.amocrm.ru:8443",
        "https://127.0.0.1:8765",  # the sandbox is plain http
        "-bad-.amocrm.ru",
        "http://127.0.0.1:99999",
    ],
)
def test_everything_else_is_refused_with_what_was_expected(typed: str) -> None:
    with pytest.raises(InvalidAccountError) as info:
        parse_account(typed)
    assert info.value.exit_code == 2
    assert info.value.hint, "the admin must be told what to type instead"


def test_referer_must_name_the_same_account() -> None:
    real = parse_account("mycompany")
    assert real.same_account_host("mycompany.amocrm.ru")
    assert real.same_account_host("mycompany.kommo.com")
    assert not real.same_account_host("othercompany.amocrm.ru")
    assert not real.same_account_host("mycompany.evil.com")
    local = parse_account("http://127.0.0.1:8765")
    assert local.same_account_host("127.0.0.1:8765")
    assert not local.same_account_host("127.0.0.1:8766")


def test_an_address_bar_paste_is_reduced_and_says_what_was_dropped() -> None:
    pasted = parse_account("https://mycompany.amocrm.ru/leads/pipeline/1/?Filter=Open#card")
    assert pasted.base_url == "https://mycompany.amocrm.ru"
    assert pasted.dropped == "/leads/pipeline/1?Filter=Open#card"
    assert parse_account("https://mycompany.amocrm.ru/").dropped == ""
    assert pasted == parse_account("mycompany")
    with pytest.raises(InvalidAccountError):
        parse_account("https://mycompany.evil.com/leads")  # the host still has to be amoCRM's
