"""The user's language: the catalogs are complete and match the code, and a Chinese user gets Chinese throughout."""

from __future__ import annotations

import ast
import re
import shlex
import string
import subprocess
import sys
import tomllib
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

import bot.core.i18n
from bot.core.captions import result_caption, status_text
from bot.core.i18n import LANGUAGES, N_, NP_, SOURCE, language_of, translator
from bot.core.services import Services, Tuning
from bot.telegram.delivery import Delivery
from bot.telegram.delivery.status_edits import Edit
from jobs.models import JobState
from settings import Settings
from tests.support.bot import bot_settings, fake_api, is_status, job_status, private, running_bot, workers
from tests.support.fakebotapi import Call, TgUser
from tests.support.pictures import picture

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "bot" / "locales"
TRANSLATED = [language for language in LANGUAGES if language != SOURCE]
ZHANG = TgUser(1003, "小张", "xiaozhang", language_code="zh-hans")


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def messages(catalog: Catalog) -> dict[Any, Message]:
    """The catalog's messages by id (a plural message's id is its (singular, plural) pair), header left out."""
    return {message.id: message for message in catalog if message.id}


def forms(text: str | tuple[str, ...] | list[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


def placeholders(text: str) -> set[str]:
    """`{name}` and `%(name)s` placeholders (a broken `{` raises ValueError)."""
    fields = {f"{{{field}}}" for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    return fields | set(re.findall(r"%\(\w+\)[a-z]", text))


def tags(text: str) -> Counter[str]:
    """The HTML tags Telegram reads (a translated `<name>` or `&lt;name&gt;` is not one)."""
    return Counter(re.findall(r"</?(?:b|i|u|s|code|pre|a)\b[^>]*>", text))


def emoji(text: str) -> Counter[str]:
    return Counter(char for char in text if unicodedata.category(char) == "So")


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("zh-hans", "zh_Hans"),
        ("zh-cn", "zh_Hans"),
        ("zh-sg", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("ZH_Hans_CN", "zh_Hans"),
        ("zh-hant", "en"),
        ("zh-tw", "en"),
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("es", "es"),
        ("es-419", "es"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_telegram_language_codes_pick_a_catalog(code: str | None, language: str) -> None:
    assert language_of(code) == language
    assert translator(code).language == language


def test_the_pot_is_what_pybabel_extracts_from_the_code(tmp_path: Path) -> None:
    """The command in bot/core/i18n.py's docstring, run now, gives the committed .pot's messages (none missing or
    stale)."""
    doc = (bot.core.i18n.__doc__ or "").replace("\\\n", " ")
    [command] = [line.strip() for line in doc.splitlines() if line.strip().startswith("pybabel extract")]
    argv = shlex.split(command)[1:]
    output = argv.index("-o") + 1
    assert argv[output] == "bot/locales/messages.pot"
    argv[output] = str(tmp_path / "messages.pot")
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *argv], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    extracted = messages(read(tmp_path / "messages.pot"))
    committed = messages(read(LOCALES / "messages.pot"))
    assert sorted(map(str, extracted.keys() - committed.keys())) == [], "run the pybabel commands in bot/core/i18n.py"
    assert sorted(map(str, committed.keys() - extracted.keys())) == [], "run the pybabel commands in bot/core/i18n.py"


def literal_msgids() -> list[tuple[str, str | tuple[str, str]]]:
    """(file, msgid) of every N_, NP_, gettext and ngettext call in bot/ (a message pybabel may not see, e.g. one
    nested in another's arguments, still has to be in the catalogs); a call with an f-string fails."""
    found: list[tuple[str, str | tuple[str, str]]] = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "i18n.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name not in ("N_", "NP_", "gettext", "ngettext"):
                continue
            plural = name in ("NP_", "ngettext")
            texts = node.args[:2] if plural else node.args[:1]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            assert all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts), f"{where}: a literal"
            values = [t.value for t in texts]  # type: ignore[attr-defined]
            found.append((where, (values[0], values[1]) if plural else values[0]))
    return found


def test_every_text_in_the_code_is_in_the_pot() -> None:
    committed = messages(read(LOCALES / "messages.pot"))
    found = literal_msgids()
    assert len(found) > 100
    assert [(where, msgid) for where, msgid in found if msgid not in committed] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_translates_every_message_with_the_same_placeholders(language: str) -> None:
    """Nothing missing, untranslated or fuzzy; each form keeps the msgid's placeholders, HTML tags and emoji."""
    template = messages(read(LOCALES / "messages.pot"))
    catalog = read(LOCALES / language / "LC_MESSAGES" / "messages.po", locale=language)
    assert not catalog.fuzzy
    assert catalog.plural_forms == get_plural(language).plural_forms
    translated = messages(catalog)
    assert sorted(map(str, template.keys() - translated.keys())) == [], "run pybabel update, then translate"
    assert sorted(map(str, translated.keys() - template.keys())) == [], f"run pybabel update ({language} has extras)"
    problems: list[tuple[object, ...]] = []
    for msgid, message in translated.items():
        sources = forms(msgid)
        strings = forms(message.string or "")  # no string at all: untranslated, as an empty one is
        expected = placeholders(sources[0])
        if message.fuzzy:
            problems.append(("fuzzy", msgid))
        if len(strings) != (catalog.num_plurals if message.pluralizable else 1) or not all(strings):
            problems.append(("untranslated", msgid))
        if any(placeholders(source) != expected for source in sources):
            problems.append(("the English forms differ in placeholders", msgid))
        for text in strings:
            if placeholders(text) != expected:
                problems.append(("placeholders", msgid, text))
            if tags(text) != tags(sources[0]):
                problems.append(("HTML tags", msgid, text))
            if emoji(text) != emoji(sources[0]):
                problems.append(("emoji", msgid, text))
            text.format(**{name.strip("{}"): "x" for name in expected if name.startswith("{")})
    assert problems == []


def test_the_catalogs_ship_as_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bot"]
    shipped = {path for pattern in patterns for path in (ROOT / "bot").glob(pattern)}
    catalogs = {LOCALES / "messages.pot"} | {LOCALES / lang / "LC_MESSAGES" / "messages.po" for lang in TRANSLATED}
    assert catalogs <= shipped
    assert not list(LOCALES.rglob("*.mo")), "the catalogs are compiled in memory; no .mo files are kept"


def test_plurals_lazy_texts_and_captions_follow_the_language() -> None:
    ru = translator("ru")
    assert [ru.ngettext("Cancelled {n} picture.", "Cancelled {n} pictures.", n) for n in (1, 3, 5, 21)] == [
        "Отменена 1 картинка.",
        "Отменены 3 картинки.",
        "Отменено 5 картинок.",
        "Отменена 21 картинка.",
    ]
    assert translator("zh").ngettext("Cancelled {n} picture.", "Cancelled {n} pictures.", 1) == "已取消 1 张图片。"
    assert translator("xx").gettext("Hi {name}!", name="Ann") == "Hi Ann!"
    lazy = NP_(
        "You have reached today's limit of {n} picture. Please come back tomorrow.",
        "You have reached today's limit of {n} pictures. Please come back tomorrow.",
        5,
    )
    assert lazy == "You have reached today's limit of 5 pictures. Please come back tomorrow."  # str: English
    assert translator("es")(lazy) == "Has alcanzado el límite de hoy: 5 imágenes. Vuelve mañana."
    assert translator("ru")(N_("Hi {name}!"), name="Аня") == "Привет, Аня!"

    done = job_status(state=JobState.DONE, result_width=256, result_height=192, total_iterations=10, seconds=3)
    assert result_caption(done).splitlines()[1:] == [
        "strength 1× · 512 px · new colours · quality balanced",
        "256×192 · 10 iterations · 3 s",
    ]
    assert result_caption(replace(done, language="ru-RU")).splitlines()[1:] == [
        "сила 1× · 512 px · новые цвета · качество сбалансированное",
        "256×192 · 10 итераций · 3 с",
    ]
    queued = job_status(state=JobState.QUEUED, position=3, language="es")
    assert status_text(queued, painters_online=False) == (
        "⏳ Esperando para pintar con mosaic: puesto 3 en la cola.\n"
        "⚠️ Ahora mismo no hay ningún pintor en marcha: tu petición está guardada y empezará en cuanto vuelva uno."
    )


def is_painted(call: Call) -> bool:
    """A sendPhoto with a finished picture (it has the result buttons), whatever their language."""
    return call.method == "sendPhoto" and any(b.get("callback_data", "").startswith("r:up:") for b in call.buttons())


def labels(call: Call) -> list[str]:
    return [b["text"] for b in call.buttons()]


async def test_a_zh_hans_user_gets_chinese_from_start_to_result_and_settings(tmp_path: Path) -> None:
    """/start, a photo, the style prompt, the status message and its progress, the result and its buttons (the
    time-lapse too), /settings with the strokes, /me, /privacy, a style link and the shared result's link: all
    Chinese; and the command menu is set in every language."""
    async with fake_api() as api:
        settings = bot_settings(tmp_path, api)
        with workers(settings, seconds=2.0):  # long enough for a time-lapse (a frame every 0.5 s at most)
            async with running_bot(settings):
                menus = {c.params.get("language_code"): c.params["commands"] for c in api.calls_to("setMyCommands")}
                assert set(menus) == {None, "es", "ru", "zh"}
                described = {code: {c["command"]: c["description"] for c in menu} for code, menu in menus.items()}
                assert described[None]["start"] == "What this bot does"
                assert described["zh"]["start"] == "这个机器人能做什么"
                assert described["zh"]["me"] == "你的队列、今日数量和存储空间"
                assert described["zh"]["privacy"] == "我保存了什么，以及如何删除"
                assert described["ru"]["settings"] == "Сила, размер, цвета, качество"
                assert described["ru"]["privacy"] == "Что я храню и как это удалить"
                assert described["es"]["history"] == "Tus imágenes recientes"
                assert described["es"]["me"] == "Tu cola, el recuento de hoy y tu espacio"

                chat = private(ZHANG)
                api.user_text(chat, ZHANG, "/start")
                [hello] = await api.wait_for("sendMessage")
                assert hello.text.startswith("你好，小张！ 🎨 我能把照片变成画作。")
                assert "<code>/style mosaic</code>" in hello.text and "最多保留 30 天" in hello.text
                assert "\n/privacy — 我保存什么、保存多久、谁能看到\n" in hello.text

                api.user_photo(chat, ZHANG, picture((10, 200, 10)))
                [_, prompt] = await api.wait_for("sendMessage", count=2)
                assert prompt.text == "收到你的照片了！现在发送风格图片，或者选择一种风格："
                assert "starry night" in labels(prompt)  # style names stay as they are

                api.user_photo(chat, ZHANG, picture((200, 10, 10)))
                [status] = await api.wait_for("sendPhoto", is_status)
                assert status.caption == "⏳ 等待作画（风格：你的风格图片）：下一个就轮到你。"
                assert labels(status) == ["✖ 取消"]

                [result] = await api.wait_for("sendPhoto", is_painted, within_s=20)
                title, params, detail = result.caption.splitlines()
                assert title == "🎨 <b>你的风格图片</b>"
                assert params == "强度 1× · 64 px · 新配色 · 质量 均衡"
                assert re.fullmatch(r"\d+×\d+ · \d+ 次迭代 · \d+ 秒", detail), detail
                assert labels(result) == [
                    "➕ 更强",
                    "➖ 更弱",
                    "🖌 笔触更粗",
                    "✏ 笔触更细",
                    "🎨 保留原色",
                    "🎲 再画一版",
                    "🖼 换个风格",
                    "🎞 作画过程",
                    "📄 原尺寸文件",
                    "↗ 分享",
                ]
                timelapse = next(b for b in result.buttons() if b["text"] == "🎞 作画过程")["callback_data"]
                api.tap(ZHANG, api.message(result), timelapse)
                await api.wait_for("answerCallbackQuery", lambda c: c.params.get("text") == "正在发送作画过程…")
                await api.wait_for("sendAnimation")

                status_id = api.message(status)["message_id"]
                edits = [
                    c.caption or c.params.get("media", {}).get("caption", "")
                    for c in api.calls_to("editMessageCaption") + api.calls_to("editMessageMedia")
                    if int(c.params["message_id"]) == status_id
                ]
                painting = [e for e in edits if e.startswith("🖌 正在作画（风格：你的风格图片）…\n")]
                assert painting and all(re.search(r"\d+%\n(正在估算…|快好了|大约还剩 .+)", e) for e in painting)
                assert all(re.search("[\u4e00-\u9fff]", e) for e in edits), edits

                api.user_text(chat, ZHANG, "/settings")
                [panel] = await api.wait_for("sendMessage", lambda c: c.text.startswith("<b>你的设置</b>"))
                assert panel.text.splitlines()[1:] == [
                    "强度：1×（风格应用的程度）",
                    "尺寸：64 px（最长边）",
                    "笔触：适中（画笔笔触的粗细）",
                    "保留原色：否",
                    "质量：均衡（快速更快，最佳更慢）",
                ]
                assert {"🖌 细", "• 🖌 适中 •", "🖌 粗", "保留原色：否", "快速", "• 均衡 •", "最佳"} <= set(labels(panel))
                api.tap(
                    ZHANG, api.message(panel), next(b for b in panel.buttons() if b["text"] == "最佳")["callback_data"]
                )
                await api.wait_for("answerCallbackQuery", lambda c: c.params.get("text") == "已保存。")
                await api.wait_for("editMessageText", lambda c: "质量：最佳" in c.text)

                api.user_text(chat, ZHANG, "/me")
                [me] = await api.wait_for("sendMessage", lambda c: c.text.startswith("<b>你的图片</b>"))
                _, queue, today, stored = me.text.splitlines()
                assert queue == "队列里没有你的图片。"
                assert today == f"今天：1 张，每日上限 {settings.max_jobs_per_day} 张"
                assert re.fullmatch(r"已存储：\d+ KB", stored), stored

                api.user_text(chat, ZHANG, "/privacy")
                [privacy] = await api.wait_for("sendMessage", lambda c: c.text.startswith("🔒"))
                assert privacy.text.startswith("🔒 <b>隐私</b>\n\n<b>我保存什么：</b>")
                assert "<b>删除全部：</b>发送 /forget。" in privacy.text

                api.user_text(chat, ZHANG, "/start style-mosaic")
                await api.wait_for("sendMessage", lambda c: c.text == "发给我一张照片，我会用“mosaic”风格来画它。")
                api.user_photo(chat, ZHANG, picture((10, 10, 200)))
                await api.wait_for("sendPhoto", lambda c: is_painted(c) and "mosaic" in c.caption, within_s=20)
                offered = await api.inline_answer(ZHANG, until=lambda found: any("reply_markup" in r for r in found))
                shared = [r["reply_markup"]["inline_keyboard"] for r in offered if "reply_markup" in r]
                assert [[b["text"] for b in row] for row in shared[0]] == [["🎨 用这个风格画我的照片"]]


class RecordingBot:
    def __init__(self) -> None:
        self.edits: list[dict[str, Any]] = []

    async def edit_message_caption(self, **kwargs: Any) -> bool:
        self.edits.append(kwargs)
        return True


async def test_status_edits_keep_the_cancel_button_in_the_requesters_language(tmp_path: Path) -> None:
    bot = RecordingBot()
    delivery = Delivery(bot, Services(settings=Settings(data_dir=tmp_path), tuning=Tuning()))  # type: ignore[arg-type]
    job = job_status(language="zh-hans", status_message_id=5, progress=0.5)
    await delivery._statuses._edit(Edit(job, status_text(job), None, True, False))
    [edit] = bot.edits
    assert edit["caption"].startswith("🖌 正在作画")
    assert [b.text for row in edit["reply_markup"].inline_keyboard for b in row] == ["✖ 取消"]
