"""The body pusher-js posts to /pusher/auth (form-encoded socket_id and channel_name)."""

from django import forms

from messaging.realtime.base import CONVERSATION_CHANNEL_RE, SOCKET_ID_RE, USER_CHANNEL_RE


class PusherAuthForm(forms.Form):
    # strip=False: the exact string pusher-js sent is what gets signed.
    socket_id = forms.CharField(max_length=41, strip=False)
    channel_name = forms.CharField(max_length=64, strip=False)

    def clean_socket_id(self) -> str:
        socket_id = self.cleaned_data["socket_id"]
        if not SOCKET_ID_RE.fullmatch(socket_id):
            raise forms.ValidationError("Not a socket id.")
        return socket_id

    def clean_channel_name(self) -> str:
        channel = self.cleaned_data["channel_name"]
        if not (CONVERSATION_CHANNEL_RE.fullmatch(channel) or USER_CHANNEL_RE.fullmatch(channel)):
            raise forms.ValidationError("Not a Threadly channel.")
        return channel
