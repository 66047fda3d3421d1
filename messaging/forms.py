"""Forms check the shape of what members send; the services enforce the rules."""

from django import forms

from messaging.models import MESSAGE_MAX_LENGTH, ConversationReport


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        max_length=MESSAGE_MAX_LENGTH,
        strip=False,  # the service strips (one home for what a message is)
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MESSAGE_MAX_LENGTH}),
        error_messages={
            "required": "Write a message first.",
            "max_length": f"Messages can be at most {MESSAGE_MAX_LENGTH} characters.",
        },
    )


class PollForm(forms.Form):
    """What an open page already shows: the last message id and the page's version."""

    after = forms.IntegerField(min_value=0, max_value=2**63 - 1, required=False)
    v = forms.CharField(max_length=64, required=False)


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label="What's wrong?", choices=ConversationReport.Reason.choices)
    details = forms.CharField(
        label="Anything our team should know (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )
