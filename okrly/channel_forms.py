"""The set-up page's form: one webhook, for one team (or leadership) and one provider."""

from __future__ import annotations

from django import forms

from okrly.channels import URL_MAX, Channel
from okrly.forms import SingleValuedFields


class ChannelForm(SingleValuedFields, forms.Form):
    provider = forms.ChoiceField(choices=Channel.Provider.choices, initial=Channel.Provider.SLACK)
    # Plain text, not URLInput: the service says precisely what is wrong with a URL. Django's
    # CharField already refuses a NUL character.
    url = forms.CharField(
        label="Webhook URL",
        max_length=URL_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=(
            "Slack: an incoming webhook (https://hooks.slack.com/services/…). Teams: the URL "
            "of a “Post to a channel when a webhook request is received” workflow."
        ),
    )
