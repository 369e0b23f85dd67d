"""E-mail over SMTP (plain, STARTTLS or implicit TLS; credentials when given)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from crocevia_notifications.domain.templates import Message
from crocevia_notifications.settings import NotificationsSettings


class SmtpMailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        return bool(self._settings.smtp_host)

    async def send(self, to: str, message: Message, message_id: str, language: str) -> None:
        """Send one message; raise on any failure (the caller retries). ``message_id`` is the
        same on every retry, so a resent message is recognisably the same."""
        s = self._settings
        mail = EmailMessage()
        mail.set_content(message.body)  # first: it replaces every Content-* header
        mail["From"] = s.smtp_from
        mail["To"] = to
        mail["Subject"] = message.title
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message_id}@crocevia.notifications>"
        mail["Content-Language"] = language
        mail["Auto-Submitted"] = "auto-generated"
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        await aiosmtplib.send(
            mail,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=password,
            use_tls=s.smtp_tls == "tls",
            start_tls=True if s.smtp_tls == "starttls" else False,
            timeout=s.smtp_timeout_seconds,
        )
