"""Thin views for the inbox and conversations: parse input, call a service or selectors,
render. Pages work without JavaScript (POST + redirect); htmx polls and appends.

Polls are conditional: one query compares the page's version with the conversation's (or
the inbox's) and answers 204 No Content (htmx swaps nothing) or 304 to a matching
If-None-Match; only a change renders anything.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_safe

from core.http import safe_next_url
from marketplace.models import Listing
from messaging import push, selectors, services
from messaging.exceptions import MessagingError, NotParticipant, RateLimited
from messaging.forms import MessageForm, PollForm, ReportForm
from messaging.models import Conversation

# htmx stops polling an element that gets this status (e.g. after the member logged out).
HTMX_STOP_POLLING = 286


def htmx_poll(page: str) -> Callable:
    """For the fragments pages poll: signed-in htmx requests only. htmx without a session
    gets 286 (stop polling) instead of the login page; a browser opening the URL itself is
    sent to the full page `page` (which asks visitors to log in)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.htmx:
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                return redirect(reverse(page, kwargs=kwargs))
            if not request.user.is_authenticated:
                return HttpResponse(status=HTMX_STOP_POLLING)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _not_modified(request: HttpRequest, etag: str, page_version: str, version: str):
    """304 when If-None-Match names `etag`, 204 when the page already shows `version`."""
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    elif page_version == version:
        response = HttpResponse(status=204)
    else:
        return None
    response["ETag"] = etag
    return response


# --- Inbox and badge -----------------------------------------------------------------------------
def _inbox_context(request: HttpRequest, conversations: list[Conversation]) -> dict:
    last_id = conversations[0].last_message_id if conversations else 0
    unread = selectors.unread_total(user=request.user)
    return {
        "conversations": conversations,
        "inbox_version": selectors.InboxState(last_message_id=last_id, unread=unread).token,
    }


@require_safe
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    conversations = selectors.inbox(user=request.user)
    return render(request, "messaging/inbox.html", _inbox_context(request, conversations))


@require_GET
@htmx_poll("messaging:inbox")
def inbox_poll(request: HttpRequest) -> HttpResponse:
    state = selectors.inbox_state(user=request.user)
    etag = f'"inbox-{request.user.pk}-{state.token}"'
    unchanged = _not_modified(request, etag, request.GET.get("v", ""), state.token)
    if unchanged is not None:
        return unchanged
    conversations = selectors.inbox(user=request.user)
    response = render(
        request, "messaging/inbox.html#inbox_list", _inbox_context(request, conversations)
    )
    response["ETag"] = etag
    return response


@require_GET
@htmx_poll("messaging:inbox")
def badge(request: HttpRequest) -> HttpResponse:
    count = selectors.unread_total(user=request.user)
    etag = f'"unread-{request.user.pk}-{count}"'
    unchanged = _not_modified(request, etag, request.GET.get("n", ""), str(count))
    if unchanged is not None:
        return unchanged
    response = render(request, "messaging/_badge.html", {"unread_messages": count})
    response["ETag"] = etag
    return response


# --- Starting a conversation ---------------------------------------------------------------------
@require_POST
def conversation_start(request: HttpRequest, pk: int) -> HttpResponse:
    """The listing page's "Message seller": open the existing conversation or start one."""
    if not request.user.is_authenticated:
        return redirect_to_login(safe_next_url(request, reverse("marketplace:home")))
    try:
        conversation = services.conversation_start(buyer=request.user, listing_id=pk)
    except Listing.DoesNotExist:
        raise Http404("No such listing.") from None
    except MessagingError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next_url(request, reverse("marketplace:home")))
    return redirect(conversation)


# --- A conversation ------------------------------------------------------------------------------
def _conversation_page(
    request: HttpRequest, conversation: Conversation, form: MessageForm, status: int = 200
) -> HttpResponse:
    user = request.user
    thread = selectors.thread(conversation=conversation)
    if request.method == "GET":  # reading it (not a HEAD probe, not a failed send)
        services.conversation_mark_read(user=user, conversation=conversation)
    config = push.client_config(
        channels=[push.conversation_channel(conversation.pk), push.user_channel(user.pk)]
    )
    context = {
        "conversation": conversation,
        "other": conversation.other,
        "listing": conversation.listing,
        "thread": thread,
        "after": thread[-1].pk if thread else 0,
        "version": selectors.thread_token(conversation=conversation, user=user),
        "seen_id": selectors.seen_message_id(conversation=conversation, user=user),
        "form": form,
        "can_write": _can_write(conversation),
        "blocked_by_me": selectors.has_blocked(user=user, other_id=conversation.other.pk),
        "poll_seconds": push.poll_seconds(config),
        "realtime_config_json": push.config_json(config),
    }
    return render(request, "messaging/conversation.html", context, status=status)


def _can_write(conversation: Conversation) -> bool:
    other = getattr(conversation, "other", None)
    other_ok = other is None or (other.is_active and not other.is_banned)
    return not conversation.is_closed and other_ok


@require_safe
@login_required
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = selectors.conversation_for(user=request.user, pk=pk)
    return _conversation_page(request, conversation, MessageForm())


@require_GET
@htmx_poll("messaging:conversation")
def conversation_poll(request: HttpRequest, pk: int) -> HttpResponse:
    """New messages after ?after=<id> and the "Seen" line, or 204/304 when the page (?v=) is
    current: then exactly one query (the conversation row by primary key)."""
    form = PollForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("Bad poll.")
    user = request.user
    state = selectors.conversation_poll_state(user=user, pk=pk)
    version = selectors.thread_token(conversation=state, user=user)
    etag = f'"conversation-{pk}-{user.pk}-{version}"'
    page_version = form.cleaned_data["v"] or ""
    unchanged = _not_modified(request, etag, page_version, version)
    if unchanged is not None:
        return unchanged
    new = selectors.messages_after(conversation=state, after_id=form.cleaned_data["after"] or 0)
    if any(message.sender_id != user.pk for message in new):
        services.conversation_mark_read(user=user, conversation=state)
    page_closed = page_version.endswith(".1")
    context = {
        "conversation": state,
        "new_messages": new,
        "after": new[-1].pk if new else form.cleaned_data["after"] or 0,
        "version": version,
        "seen_id": selectors.seen_message_id(conversation=state, user=user),
        "composer_changed": bool(page_version) and page_closed != state.is_closed,
        "can_write": _can_write(state),
        "form": MessageForm(),
        "unread_messages": selectors.unread_total(user=user),
    }
    response = render(request, "messaging/conversation.html#poll_update", context)
    response["ETag"] = etag
    return response


@login_required
@require_POST
def message_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a message. htmx: the composer again (cleared, or with the error) and a
    threadly:message event that makes the page poll now; without JS: back to the page."""
    state = selectors.conversation_poll_state(user=request.user, pk=pk)  # 404 for others
    form = MessageForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.message_send(
                sender=request.user, conversation_id=pk, body=form.cleaned_data["body"]
            )
        except NotParticipant:
            raise Http404("No such conversation.") from None
        except RateLimited as exc:
            form.add_error("body", exc.message)
            status = 429
        except MessagingError as exc:
            form.add_error("body", exc.message)
            status = 400
    else:
        status = 400
    if request.htmx:
        sent = status == 200
        context = {
            "conversation": state,
            "form": MessageForm() if sent else form,
            "can_write": _can_write(state),
        }
        response = render(request, "messaging/conversation.html#composer", context, status=200)
        if sent:
            response["HX-Trigger"] = "threadly:message"
        return response
    if status == 200:
        return redirect(reverse("messaging:conversation", kwargs={"pk": pk}) + "#composer")
    conversation = selectors.conversation_for(user=request.user, pk=pk)
    return _conversation_page(request, conversation, form, status=status)


# --- Safety: block, unblock, report --------------------------------------------------------------
@login_required
@require_POST
def conversation_block(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = selectors.conversation_for(user=request.user, pk=pk)
    services.member_block(blocker=request.user, blocked_id=conversation.other.pk)
    messages.success(
        request,
        f"You blocked {conversation.other.username}. Neither of you can message the other "
        "until you unblock them.",
    )
    return redirect(conversation)


@login_required
@require_POST
def conversation_unblock(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = selectors.conversation_for(user=request.user, pk=pk)
    if services.member_unblock(blocker=request.user, blocked_id=conversation.other.pk):
        messages.success(request, f"You unblocked {conversation.other.username}.")
    return redirect(conversation)


@login_required
def conversation_report(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = selectors.conversation_for(user=request.user, pk=pk)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.conversation_report(
                reporter=request.user, conversation=conversation, **form.cleaned_data
            )
        except MessagingError as exc:
            form.add_error("reason", exc.message)
        else:
            messages.success(request, "Thank you. Our team will look at this conversation.")
            return redirect(conversation)
    return render(
        request,
        "messaging/report.html",
        {"conversation": conversation, "other": conversation.other, "form": form},
        status=400 if form.errors else 200,
    )
