from dataclasses import dataclass
from decimal import Decimal

from acmehealth_billing.config import BILLING_API


@dataclass
class Invoice:
    patient_id: str
    amount: Decimal
    iban: str

    def url(self) -> str:
        return f"{BILLING_API}/invoices/{self.patient_id}"


def total(invoices: list[Invoice]) -> Decimal:
    return sum((i.amount for i in invoices), Decimal("0"))
