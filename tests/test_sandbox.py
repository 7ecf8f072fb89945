"""The sandbox (`python -m bot sandbox`): its HTTP API and events, its start-up time, its own
data and key, and, in a real headless Chromium, a whole family and liaison loop on the page."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.render import to_html
from tests.balancer import free_port
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "sandbox"
CODE_RE = re.compile(r"HW-[2-9A-Z]{4}-[2-9A-Z]{2}")
# A tiny valid PNG (1x1 pixel).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class RunningSandbox:
    def __init__(self, process: subprocess.Popen[bytes], url: str, data_dir: Path) -> None:
        self.process = process
        self.url = url
        self.data_dir = data_dir
        self.started_in = 0.0


@contextlib.contextmanager
def sandbox_process(tmp_path: Path, *args: str) -> Iterator[RunningSandbox]:
    """`python -m bot sandbox` in its own process, with a real DATA_KEY and DATABASE_URL in
    its environment that it must ignore; ready when its page answers."""
    port = free_port()
    data_dir = tmp_path / "sandbox"
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'real.db'}"
    env["PYTHONPATH"] = str(ROOT)
    began = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "sandbox.log", "wb"),
    )
    running = RunningSandbox(process, f"http://127.0.0.1:{port}", data_dir)
    try:
        deadline = began + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    "the sandbox stopped: " + (tmp_path / "sandbox.log").read_text()[-3000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the sandbox did not start in 30 s") from None
                time.sleep(0.02)
        running.started_in = time.monotonic() - began
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(40)  # a guard against a hang, generous on a loaded machine
        except subprocess.TimeoutExpired:
            process.kill()
            log = (tmp_path / "sandbox.log").read_text()[-3000:]
            raise AssertionError(f"the sandbox did not stop in 40 s:\n{log}") from None
        assert code == 0, (tmp_path / "sandbox.log").read_text()[-3000:]


class Events:
    """The page's Server-Sent Events, read as the page reads them."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, timeout: float = 10) -> tuple[str, dict[str, Any]]:
        event, data = "message", ""
        async with asyncio_timeout(timeout):
            while True:
                line = (await self.response.content.readline()).decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data += line[6:]
                elif line == "" and data:
                    return event, json.loads(data)

    async def until(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            event, data = await self.next(max(0.1, deadline - time.monotonic()))
            if predicate(event, data):
                return data


def asyncio_timeout(seconds: float) -> Any:
    import asyncio

    return asyncio.timeout(seconds)


def bot_messages(update: dict[str, Any], chat: int) -> list[dict[str, Any]]:
    return [m for m in update.get("messages", {}).get(str(chat), []) if m["from_bot"]]


def test_messages_render_as_telegram_shows_them() -> None:
    assert to_html("a <b> & c\nline", []) == "a &lt;b&gt; &amp; c\nline"
    text = "Bold italic link 👍 end"
    entities = [
        {"type": "bold", "offset": 0, "length": 11},
        {"type": "italic", "offset": 5, "length": 6},
        {"type": "text_link", "offset": 12, "length": 4, "url": "https://example.org/?a=1&b=2"},
        {"type": "text_link", "offset": 17, "length": 2, "url": "javascript:alert(1)"},
    ]
    assert to_html(text, entities) == (
        '<b>Bold <i>italic</i></b> <a href="https://example.org/?a=1&amp;b=2" target="_blank"'
        ' rel="noopener noreferrer">link</a> 👍 end'
    )


async def test_api_events_own_data_and_start_up(tmp_path: Path) -> None:
    with sandbox_process(tmp_path) as sandbox:
        url = sandbox.url
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/") as page:
                assert page.status == 200 and "Homeward sandbox" in await page.text()
            async with http.get(url + "/api/state") as response:
                state = await response.json()
            assert [p["role"] for p in state["people"]] == ["admin"]
            assert state["bot"]["username"] == "homeward_sandbox_bot"

            async with http.get(url + "/api/events", timeout=aiohttp.ClientTimeout(None)) as sse:
                events = Events(sse)
                assert (await events.next())[0] == "hello"
                async with http.post(
                    url + "/api/people", json={"role": "family", "locale": "uk"}
                ) as response:
                    family = (await response.json())["person"]
                assert family["role"] == "family" and family["locale"] == "uk"
                await events.until(lambda e, d: e == "person" and d["person"] == family)
                chat = family["id"]

                await http.post(f"{url}/api/chats/{chat}/text", json={"text": "/start"})
                update = await events.until(lambda e, d: bot_messages(d, chat))
                greeting = bot_messages(update, chat)[0]
                assert "<b>Homeward</b>" in greeting["html"] and greeting["buttons"]
                button = greeting["buttons"][0][0]

                # The menu of the family's chat scope, in Ukrainian.
                async with http.get(url + "/api/state") as response:
                    state = await response.json()
                menu = state["chats"][str(chat)]["commands"]
                assert menu[0]["command"] == "new" and menu[0]["description"] != "New request"

                async with http.post(
                    f"{url}/api/chats/{chat}/press",
                    json={"message_id": greeting["id"], "data": button["data"]},
                ) as response:
                    assert response.status == 200
                await events.until(lambda e, d: bot_messages(d, chat))

                form = aiohttp.FormData()
                form.add_field("file", PNG, filename="photo.png", content_type="image/png")
                form.add_field("caption", "a photo")
                async with http.post(f"{url}/api/chats/{chat}/file", data=form) as response:
                    sent = await response.json()
                async with http.get(f"{url}/api/files/{sent['file_id']}") as response:
                    assert response.content_type == "image/png" and await response.read() == PNG

                for path, body, status in (
                    ("/api/chats/999/text", {"text": "hi"}, 404),
                    (f"/api/chats/{chat}/text", {"text": "  "}, 400),
                    (f"/api/chats/{chat}/press", {"message_id": 1, "data": "nope"}, 409),
                    ("/api/people", {"role": "pope", "locale": "uk"}, 400),
                ):
                    async with http.post(url + path, json=body) as response:
                        assert response.status == status, path

                # 20 people at once: the page's state has them all, and a message still gets
                # its answer (how quick: python -m bench.sandbox).
                for _ in range(19):
                    async with http.post(
                        url + "/api/people", json={"role": "family", "locale": "ru"}
                    ) as response:
                        other = (await response.json())["person"]
                    await http.post(f"{url}/api/chats/{other['id']}/text", json={"text": "/start"})
                async with http.get(url + "/api/state") as response:
                    state = await response.json()
                assert len(state["people"]) == 21
                await http.post(f"{url}/api/chats/{chat}/text", json={"text": "/help"})
                await events.until(lambda e, d: bot_messages(d, chat), timeout=30)

    # Its own database and key, never the real ones from the environment.
    key_file = sandbox.data_dir / "sandbox.key"
    assert (sandbox.data_dir / "sandbox.db").exists() and key_file.exists()
    assert os.environ["DATA_KEY"] not in key_file.read_text()
    assert not (tmp_path / "real.db").exists()


async def _check_seeded(url: str, *, add_admin: bool) -> None:
    from bot.sandbox.seed import FICTIONAL

    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/api/state") as response:
            state = await response.json()
        roles = [p["role"] for p in state["people"]]
        assert roles.count("family") == len(FICTIONAL) and roles.count("liaison") == 1
        names = [p["name"] for p in state["people"] if p["role"] == "family"]
        assert names == [item.requester for item in FICTIONAL]
        liaison = next(p["id"] for p in state["people"] if p["role"] == "liaison")
        async with http.get(url + "/api/events", timeout=aiohttp.ClientTimeout(None)) as sse:
            events = Events(sse)
            await events.next()
            await http.post(f"{url}/api/chats/{liaison}/text", json={"text": "/queue"})

            def queue_shown(event: str, data: dict[str, Any]) -> bool:
                return any("<b>Queue</b>" in m["html"] for m in bot_messages(data, liaison))

            update = await events.until(queue_shown)
            queue = next(m for m in bot_messages(update, liaison) if "Queue" in m["html"])
            # The new requests need attention; the ones in review or tracing do not.
            assert len(CODE_RE.findall(queue["html"])) >= 3
            if not add_admin:
                return
            async with http.post(
                url + "/api/people", json={"role": "admin", "locale": "uk"}
            ) as response:
                admin = (await response.json())["person"]["id"]
            await http.post(f"{url}/api/chats/{admin}/text", json={"text": "/start"})
            await events.until(
                lambda e, d: any(
                    c["command"] == "audit" for c in d.get("commands", {}).get(str(admin), [])
                )
            )


@pytest.mark.slow
async def test_seeded_sandbox_and_a_new_admin(tmp_path: Path) -> None:
    """--seed: fictional families and requests, a liaison who finds them in /queue; seeding
    again adds nothing; a new admin joins ADMIN_IDS (the bot restarts) and gets the menu."""
    with sandbox_process(tmp_path, "--seed") as sandbox:
        await _check_seeded(sandbox.url, add_admin=False)
    with sandbox_process(tmp_path, "--seed") as sandbox:
        await _check_seeded(sandbox.url, add_admin=True)


def test_without_a_token_the_bot_points_to_the_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    err = done.stderr.decode()
    assert done.returncode == 2 and "BOT_TOKEN is not set" in err and "@BotFather" in err
    assert "python -m bot sandbox" in err and len(err.strip().splitlines()) == 1


# ---- the browser test -----------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _require_browser() -> Any:
    """Skip on a developer's machine without Chromium or Playwright; fail under CI."""
    problem = None
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        problem = "Chromium is not installed (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "Playwright is not installed (pip install -e '.[test]')"
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}, and CI=true requires the browser test")
        pytest.skip(problem)
    return sync_playwright


@pytest.mark.slow
def test_a_whole_loop_in_the_browser(tmp_path: Path) -> None:
    sync_playwright = _require_browser()
    from playwright.sync_api import expect

    from bot.domain.intake import STEP_BY_KEY
    from bot.i18n import build_i18n
    from tests.flows import FULL_INTAKE, SUBMIT, callback_for

    i18n = build_i18n("en")
    uk = lambda text: i18n.gettext(text, locale="uk")  # noqa: E731
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    shots = iter(range(1, 100))

    with sandbox_process(tmp_path) as sandbox, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.set_default_timeout(15_000)

        def shot(name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{next(shots):02d}-{name}.png"))

        last_bot = page.locator("#messages .msg.bot").last

        def say(text: str) -> None:
            page.fill("#text", text)
            page.press("#text", "Enter")

        def add(role: str, locale: str) -> int:
            page.select_option("#add-role", role)
            page.select_option("#add-locale", locale)
            before = page.locator("#people li").count()
            page.click("#add-button")
            expect(page.locator("#people li")).to_have_count(before + 1)
            return int(page.locator("#people li.active").get_attribute("data-person") or 0)

        def open_chat(person: int) -> None:
            page.click(f"#people li[data-person='{person}']")
            expect(page.locator("#people li.active")).to_have_attribute("data-person", str(person))

        page.goto(sandbox.url)
        expect(page.locator("#people li")).to_have_count(1)  # the sandbox's admin
        admin = int(page.locator("#people li").first.get_attribute("data-person") or 0)
        shot("page")

        family = add("family", "uk")
        say("/start")
        expect(last_bot).to_contain_text(uk("New request"))
        shot("family-start")
        last_bot.get_by_role("button", name=uk("New request")).click()
        for index, (kind, step, value) in enumerate(FULL_INTAKE):
            expect(last_bot).to_contain_text(uk(STEP_BY_KEY[step].prompt)[:40])
            if kind == "text":
                say(value)
            else:
                page.locator(
                    f'#messages button[data-data="{callback_for(kind, step, value)}"]'
                ).last.click()
            if index in (0, 9):
                shot(f"intake-{step}")
        expect(last_bot).to_contain_text(uk("Please check your request"))
        shot("summary")
        page.locator(f'#messages button[data-data="{SUBMIT}"]').last.click()
        expect(last_bot).to_contain_text(re.compile(CODE_RE.pattern))
        code = CODE_RE.search(last_bot.inner_text() or "")
        assert code is not None
        code_text = code.group(0)
        shot("reference-code")

        liaison = add("liaison", "en")
        open_chat(admin)
        expect(page.locator("#messages")).to_contain_text(f"/grant {liaison}")
        expect(last_bot).to_contain_text("is now a liaison")
        shot("admin-granted")
        open_chat(liaison)
        say("/queue")
        expect(last_bot).to_contain_text(code_text)
        shot("liaison-queue")
        last_bot.get_by_role("button", name=code_text).click()
        expect(last_bot).to_contain_text(f"Case {code_text}")
        shot("liaison-case")
        say(f"/update {code_text} A registry lists a boy of that name in a fictional town.")
        expect(last_bot).to_contain_text("Draft #")
        shot("liaison-draft")

        open_chat(admin)
        say(f"/case {code_text}")
        expect(last_bot).to_contain_text(f"Case {code_text}")
        last_bot.get_by_role("button", name=re.compile(r"Approve draft #\d+")).click()
        expect(page.locator("#toast")).to_be_visible()
        shot("admin-approved")

        open_chat(family)
        expect(page.locator("#messages")).to_contain_text(
            "A registry lists a boy of that name in a fictional town."
        )
        expect(page.locator("#messages .msg.bot").last).to_contain_text(code_text)
        shot("family-update")

        # A photo from the page goes into the emulator's file store and shows in the chat.
        page.set_input_files(
            "#file-input", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}]
        )
        expect(page.locator("#messages .msg.me img").last).to_be_visible()
        page.click("#log-toggle")
        expect(page.locator("#log")).to_contain_text("sendMessage")
        shot("photo-and-api-log")
        page.click("#log-close")

        # 20 people, all talking: a message still comes back (how quick: bench.sandbox).
        for _ in range(17):
            request = urllib.request.Request(
                sandbox.url + "/api/people",
                data=json.dumps({"role": "family", "locale": "en"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                other = json.load(response)["person"]["id"]
            request = urllib.request.Request(
                f"{sandbox.url}/api/chats/{other}/text",
                data=json.dumps({"text": "/start"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=10).close()
        expect(page.locator("#people li")).to_have_count(20)
        open_chat(other)
        expect(last_bot).to_contain_text("Homeward")
        say("/help")
        expect(page.locator("#messages .msg.bot")).to_have_count(2, timeout=30_000)
        shot("twenty-people")

        # A phone-sized screen: the list of people, then one chat.
        phone = browser.new_page(viewport={"width": 390, "height": 760})
        phone.goto(sandbox.url)
        expect(phone.locator("#people li")).to_have_count(20)
        phone.click(f"#people li[data-person='{family}']")
        expect(phone.locator("#people")).to_be_hidden()
        expect(phone.locator("#messages")).to_contain_text(code_text)
        phone.screenshot(path=str(ARTIFACTS / f"{next(shots):02d}-phone.png"))
        browser.close()
