"""/etc/hosts and resolv.conf as Docker writes them."""

from pathlib import Path

from composer.runtime.net import files


def test_hosts_like_docker(tmp_path: Path) -> None:
    path = tmp_path / "c" / "hosts"
    files.write_hosts(path, "3f4e5a6b7c8d", [("192.168.1.5", ["db.example", "db"])], "172.18.0.2")
    assert path.read_text() == (
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n"
        "192.168.1.5\tdb.example db\n"
        "172.18.0.2\t3f4e5a6b7c8d\n"
    )
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["hosts"]  # no temporary left


def test_hosts_without_address_has_no_hostname_line() -> None:
    assert "myhost" not in files.hosts_content("myhost", [])


def test_resolv_conf(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    files.write_resolv_conf(path, ["172.18.0.1"], search=["example.com"], options=["ndots:0"])
    assert path.read_text() == "nameserver 172.18.0.1\nsearch example.com\noptions ndots:0\n"
    files.write_resolv_conf(path, ["172.18.0.1"])
    assert path.read_text() == "nameserver 172.18.0.1\n"
