"""The workspace shows an email's subject, marks a machine's mail and names the attachments not kept —
in the agent's language."""

from __future__ import annotations

from tests.channels.email.conftest import fixture
from tests.channels.email.helpers import conversations, email_inbox, post_mail
from tests.support.factories import World
from tests.web.conftest import login


async def test_an_email_shows_its_subject_and_what_was_not_kept(api: World) -> None:
    inbox = await email_inbox(api)
    for name in ("multipart_attachment.eml", "autoreply.eml"):
        assert (await post_mail(api, inbox, fixture(name))).status_code == 200
    [conv] = await conversations(api, inbox)  # the same sender: one conversation
    browser = await login(api, api.admin)
    labels = {
        "en": ("Subject", "Automatic mail", "Attachments not kept"),
        "zh_CN": ("主题", "自动邮件", "未保存的附件"),
        "zh_TW": ("主旨", "自動郵件", "未儲存的附件"),
    }
    for lang, (subject, automatic, not_kept) in labels.items():
        page = await browser.http.get(f"/app?c={conv['id']}&lang={lang}")
        assert page.status_code == 200
        assert f'<div class="msg-subject">{subject}: Photo of the damage</div>' in page.text
        assert f'<div class="msg-subject">{subject}: Automatic reply: Where is my order?</div>' in page.text
        reasons = "auto-submitted: auto-replied; precedence: bulk; x-autoreply"
        assert f'<span class="tag tag-automated" title="{reasons}">{automatic}</span>' in page.text
        assert f'<div class="msg-skipped">{not_kept}: setup.exe (files of type application/x-msdownload' in page.text
