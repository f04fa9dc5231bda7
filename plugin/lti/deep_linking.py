"""Deep Linking 2.0 responses (LTI Deep Linking 2.0 §4.2), signed with the tool's key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from pylti1p3.deep_link import DeepLink, TDeepLinkData
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from plugin.lti.adapters import ToolRegistration
from plugin.lti.claims import CLAIM_DEEP_LINKING_SETTINGS, CLAIM_DEPLOYMENT_ID
from plugin.lti.keys import SigningKey
from plugin.lti.models import Launch


@dataclass(frozen=True)
class LinkItem:
    """One ``ltiResourceLink`` content item."""

    title: str
    text: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    target: str = "iframe"
    score_maximum: float | None = None
    label: str = ""
    resource_id: str = ""
    tag: str = ""


class CleanResource(DeepLinkResource):
    """A resource link without null members (platforms and xAPI-minded readers reject nulls)."""

    _text: str = ""

    def get_type(self) -> str:
        """The content item type (pylti1p3's accessor, typed)."""
        return self._type

    def set_text(self, value: str) -> CleanResource:
        """The description the platform shows with the link (Deep Linking 2.0 §3.1)."""
        self._text = value
        return self

    def to_dict(self) -> dict[str, Any]:
        """The content item, nulls dropped, line item included when set."""
        item: dict[str, Any] = {"type": self.get_type(), "title": self.get_title()}
        if self._text:
            item["text"] = self._text
        if self.get_url():
            item["url"] = self.get_url()
        if self.get_custom_params():
            item["custom"] = dict(self.get_custom_params())
        lineitem = self.get_lineitem()
        if lineitem is not None:
            item["lineItem"] = {
                k: v
                for k, v in {
                    "scoreMaximum": lineitem.get_score_maximum(),
                    "label": lineitem.get_label(),
                    "resourceId": lineitem.get_resource_id(),
                    "tag": lineitem.get_tag(),
                }.items()
                if v not in (None, "")
            }
        target = self.get_target()
        if target == "window":
            item["window"] = {"targetName": "_blank"}
        else:
            item["iframe"] = {"width": 1024, "height": 800}
        return item


class ToolDeepLink(DeepLink):
    """pylti1p3's deep link without a null ``data`` claim."""

    def get_message_jwt(self, resources: Any) -> dict[str, object]:
        """The response JWT body (Deep Linking 2.0 §4.2)."""
        message = super().get_message_jwt(resources)
        data_claim = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
        if message.get(data_claim) is None:
            message.pop(data_claim, None)
        return message


def deep_link_settings(launch: Launch) -> dict[str, Any]:
    """The platform's deep-linking settings claim of the launch."""
    return dict(launch.claims.get(CLAIM_DEEP_LINKING_SETTINGS) or {})


def build_response(
    launch: Launch, registration: ToolRegistration, items: list[LinkItem]
) -> tuple[str, str]:
    """(return URL, signed JWT) for the chosen items."""
    settings = deep_link_settings(launch)
    # The settings claim was checked at launch (launch.py); pylti1p3 declares its shape.
    deep_link = ToolDeepLink(
        registration, str(launch.claims[CLAIM_DEPLOYMENT_ID]), cast(TDeepLinkData, settings)
    )
    resources = []
    targets = settings.get("accept_presentation_document_targets") or ["iframe"]
    for item in items:
        resource = CleanResource().set_text(item.text)
        resource.set_title(item.title).set_custom_params(item.custom)
        resource.set_target(item.target if item.target in targets else targets[0])
        if item.score_maximum is not None:
            line_item = LineItem().set_score_maximum(item.score_maximum)
            line_item.set_label(item.label or item.title)
            if item.resource_id:
                line_item.set_resource_id(item.resource_id)
            if item.tag:
                line_item.set_tag(item.tag)
            resource.set_lineitem(line_item)
        resources.append(resource)
    return settings["deep_link_return_url"], deep_link.get_response_jwt(resources)


def signing_registration(launch: Launch, key: SigningKey) -> ToolRegistration:
    """The launch's registration, ready to sign."""
    return ToolRegistration(launch.deployment.registration, key)
