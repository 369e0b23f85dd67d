"""E-mail over SMTP (plain, STARTTLS or implicit TLS; credentials when given)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from crocevia_notifications.settings import NotificationsSettings


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str  # stable across retries, so a resent message is recognisably the same
    language: str


class Mailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        return bool(self._settings.smtp_host)

    async def send(self, mail: Mail) -> None:
        """Send one message; raise on any failure (the caller retries)."""
        s = self._settings
        message = EmailMessage()
        message.set_content(mail.body)  # first: it replaces every Content-* header
        message["From"] = s.smtp_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{mail.message_id}@crocevia.notifications>"
        message["Content-Language"] = mail.language
        message["Auto-Submitted"] = "auto-generated"
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=password,
            use_tls=s.smtp_tls == "tls",
            start_tls=True if s.smtp_tls == "starttls" else False,
            timeout=s.smtp_timeout_seconds,
        )
