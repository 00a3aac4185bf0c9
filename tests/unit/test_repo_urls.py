import pytest

from shared.repo_urls import repo_key

SAME_REPO = [
    "https://github.com/Owner/Repo.git",
    "https://github.com/owner/repo",
    "https://github.com/owner/repo/",
    "https://github.com/owner/repo.git/",
    "http://github.com:443/owner/repo",
    "git@github.com:owner/repo",
    "git@github.com:Owner/Repo.git",
    "ssh://git@github.com/owner/repo.git",
    "ssh://git@github.com:22/owner/repo",
    "git://github.com/owner/repo.git",
    "https://GitHub.com/OWNER/REPO.git#main:src",
]


@pytest.mark.parametrize("url", SAME_REPO)
def test_every_form_of_one_repository_has_one_key(url):
    assert repo_key(url) == "github.com/owner/repo"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://github.com/owner/repo", "https://github.com/owner/repo2"),
        ("https://github.com/owner/repo", "https://gitlab.com/owner/repo"),
        ("https://github.com/owner/repo", "https://github.com/other/repo"),
        ("https://example.com/group/sub/repo", "https://example.com/group/repo"),
    ],
)
def test_different_repositories_differ(one, other):
    assert repo_key(one) != repo_key(other)


def test_nested_groups_and_absolute_scp_paths():
    assert repo_key("git@gitlab.example.com:group/sub/repo.git") == (
        "gitlab.example.com/group/sub/repo"
    )
    assert repo_key("git@host:/srv/git/app.git") == repo_key("ssh://git@host/srv/git/app")
