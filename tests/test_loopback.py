import httpx

from monitor.loopback import Route


def test_static_route_answers_conditional_get_with_304(server):
    server.routes["/feed.xml"] = Route(b"<rss/>", content_type="application/rss+xml")
    first = httpx.get(server.url("/feed.xml"))
    assert first.status_code == 200 and first.content == b"<rss/>"
    second = httpx.get(server.url("/feed.xml"), headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 304 and second.content == b""
    assert len(server.hits("/feed.xml")) == 2
    assert httpx.get(server.url("/missing")).status_code == 404
