"""The web client end to end, in Debian's Chromium, against a real server on the demo seed.

Each test opens its own browser contexts (one per person); screenshots of every step are kept
under .data/test-output/web/<test>/, axe results under .data/test-output/web/axe/.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta

from playwright.sync_api import Browser, Locator, Page, expect

from tests.servers import Server
from tests.web.browser import AMBASSADOR, MEMBER, Tab, axe, log_in, tab


def focus_by_tab(page: Page, element_id: str, *, limit: int = 40) -> None:
    """Presses Tab until the element with `element_id` has focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never got the focus by Tab")


def feed_article(page: Page, title: str) -> Locator:
    return (
        page.get_by_test_id("feed")
        .get_by_role("article")
        .filter(has=page.get_by_role("heading", name=title, exact=True))
    )


def test_visitor_sees_what_is_shared_near_a_place(browser: Browser, web_server: Server) -> None:
    with tab(browser, web_server.http_url, "visitor", mobile=True) as visitor:
        page = visitor.page
        visitor.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Ce qui se partage près de chez vous"
        )
        expect(page.get_by_text("Jardin partagé de Chavenay")).to_be_visible()
        expect(page.get_by_text(re.compile(r"à \d+ m|à \d+(,\d)? km")).first).to_be_visible()
        visitor.shot("around-chavenay")
        assert axe(visitor, "visitor") == []
        visitor.goto("/connexion")
        expect(page.get_by_label("Adresse e-mail")).to_be_visible()
        assert axe(visitor, "login") == []
        visitor.goto("/inscription")
        expect(page.get_by_label("Adresse e-mail")).to_be_visible()
        assert axe(visitor, "signup") == []
        visitor.goto("/mot-de-passe-oublie")
        expect(page.get_by_label("Adresse e-mail")).to_be_visible()
        assert axe(visitor, "forgot-password") == []


def test_wrong_password_is_explained_next_to_the_field(
    browser: Browser, web_server: Server
) -> None:
    with tab(browser, web_server.http_url, "wrong-password") as visitor:
        page = visitor.page
        visitor.goto("/connexion")
        page.get_by_label("Adresse e-mail").fill(MEMBER)
        page.get_by_label("Mot de passe").fill("pas-le-bon-mot-de-passe")
        page.get_by_role("button", name="Se connecter").click()
        error = page.locator("#login-password-error")
        expect(error).to_have_text("Adresse e-mail ou mot de passe incorrect.")
        expect(page.get_by_label("Mot de passe")).to_have_attribute(
            "aria-describedby", "login-password-error"
        )
        visitor.shot("error")


def test_member_sees_the_boundary_and_the_feed_of_chavenay(
    browser: Browser, web_server: Server
) -> None:
    with tab(browser, web_server.http_url, "neighbourhood") as member:
        page = member.page
        log_in(member, MEMBER)
        expect(page.get_by_role("heading", level=1)).to_have_text("Mon quartier : Chavenay")
        expect(page.get_by_test_id("member-count")).to_have_text(re.compile(r"\d+ foyers membres"))
        # The boundary, drawn by the lazily loaded map chunk as an SVG path.
        expect(page.locator(".map-canvas[data-ready=true] path.leaflet-interactive")).to_have_count(
            1
        )
        expect(page.get_by_test_id("feed").get_by_role("article").first).to_be_visible()
        member.shot("chavenay")
        feed_ms = page.evaluate(
            "performance.getEntriesByName('voisinage:feed').map(e => e.duration)[0]"
        )
        since_navigation_ms = page.evaluate(
            "performance.getEntriesByName('voisinage:feed-rendered').map(e => e.startTime)[0]"
        )
        print(
            f"feed render: {feed_ms:.0f} ms from request to rendered feed, "
            f"{since_navigation_ms:.0f} ms after navigation start"
        )
        assert axe(member, "neighbourhood") == []
        # The session lives in an httpOnly cookie: page scripts cannot read it, even after reload.
        assert page.evaluate("document.cookie") == ""
        cookie = next(c for c in page.context.cookies() if c["name"] == "voisinage_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mon quartier : Chavenay")
        assert page.evaluate("document.cookie") == ""
        for path, screen in (("/covoiturage", "carpools"), ("/nouvelles", "notifications")):
            member.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            if screen == "carpools":
                page.get_by_role("button", name="Chercher un trajet").click()
                expect(page.get_by_text(re.compile("Conducteur"))).to_be_visible()
                page.get_by_role("button", name=re.compile("Réserver une place")).first.click()
                expect(page.get_by_text(re.compile("Place réservée pour le"))).to_be_visible()
            member.shot(screen)
            assert axe(member, screen) == []
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page.get_by_role("link", name="Se connecter")).to_be_visible()
        assert not [c for c in page.context.cookies() if c["name"] == "voisinage_session"]


def test_keyboard_only_giveaway_appears_live_for_another_member(
    browser: Browser, web_server: Server
) -> None:
    title = f"Vélo d'enfant à donner {uuid.uuid4().hex[:6]}"
    with (
        tab(browser, web_server.http_url, "live-watcher") as member,
        tab(browser, web_server.http_url, "live-poster") as ambassador,
    ):
        log_in(member, MEMBER)
        expect(member.page.get_by_test_id("feed").get_by_role("article").first).to_be_visible()
        # The poster uses the keyboard only: Tab to each field, type, Enter.
        page = ambassador.page
        ambassador.goto("/connexion")
        focus_by_tab(page, "login-email")
        page.keyboard.type(AMBASSADOR)
        page.keyboard.press("Tab")
        page.keyboard.type("voisinage-demo")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Mon quartier : Chavenay")
        focus_by_tab(page, "composer-kind")
        expect(page.locator("#composer-kind")).to_have_value("GIVEAWAY")
        page.keyboard.press("Tab")
        page.keyboard.type(title)
        page.keyboard.press("Tab")
        page.keyboard.type("Taille 16 pouces, petites roues fournies.")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Publier"
        started = time.monotonic()
        page.keyboard.press("Enter")
        expect(
            page.get_by_role("status").filter(has_text="Votre annonce est publiée.")
        ).to_be_visible()
        ambassador.shot("posted")
        # The other member's feed shows it without a reload, within 2 seconds.
        expect(feed_article(member.page, title)).to_be_visible(timeout=2_000)
        print(f"live post shown to the other member {time.monotonic() - started:.2f} s after Enter")
        assert (
            feed_article(member.page, title).locator("xpath=preceding-sibling::article").count()
            == 0
        )
        member.shot("received-live")
        # The other member answers and takes it.
        received = feed_article(member.page, title)
        received.get_by_role("button", name="Voir les commentaires").click()
        received.get_by_label("Votre commentaire").fill("Je suis intéressée, merci !")
        received.get_by_role("button", name="Envoyer le commentaire").click()
        expect(received.get_by_text("Je suis intéressée, merci !")).to_be_visible()
        received.get_by_role("button", name="Je le prends").click()
        expect(received.get_by_role("status")).to_contain_text("le don vous est réservé")
        member.shot("commented-and-claimed")


def test_borrow_a_drill_from_request_to_review(browser: Browser, web_server: Server) -> None:
    starts = date.today() + timedelta(days=30)
    with (
        tab(browser, web_server.http_url, "loan-borrower") as borrower,
        tab(browser, web_server.http_url, "loan-lender") as lender,
    ):
        log_in(borrower, AMBASSADOR)
        log_in(lender, MEMBER)
        page = borrower.page
        page.get_by_role("link", name="Prêter et emprunter").click()
        page.get_by_label("Que cherchez-vous ?").fill("perceuse")
        page.get_by_role("button", name="Chercher").click()
        results = page.get_by_test_id("search-results").get_by_role("listitem")
        expect(results.first).to_contain_text("Perceuse à percussion Bosch")
        expect(results.first).to_contain_text(re.compile(r"à (\d+ m|\d+(,\d)? km)"))
        borrower.shot("search")
        assert axe(borrower, "lend-search") == []
        results.first.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Perceuse à percussion Bosch")
        page.get_by_label("Du").fill(starts.isoformat())
        page.get_by_label("Au (inclus)").fill((starts + timedelta(days=1)).isoformat())
        assert axe(borrower, "item") == []
        page.get_by_role("button", name="Envoyer la demande").click()
        expect(page.get_by_role("status")).to_contain_text("Demande envoyée")
        borrower.shot("requested")
        # The lender, on another screen, is told at once (live notification, unread count).
        news = lender.page.get_by_role("link", name=re.compile(r"Nouvelles \(1 non lue"))
        expect(news).to_be_visible()
        news.click()
        expect(
            lender.page.get_by_text("Quelqu'un demande à emprunter un de vos objets.")
        ).to_be_visible()
        lender.shot("notified")

        def loan_card(current: Tab, section: str) -> Locator:
            current.goto("/mes-prets")
            return (
                current.page.get_by_test_id(section)
                .get_by_role("listitem")
                .filter(has_text="Perceuse à percussion Bosch")
                .filter(has_text=re.compile(f"du .* {starts.day} "))
            )

        card = loan_card(lender, "lending")
        expect(card).to_have_attribute("data-state", "REQUESTED")
        assert axe(lender, "loans") == []
        card.get_by_role("button", name="Accepter").click()
        expect(card).to_have_attribute("data-state", "ACCEPTED")
        card.get_by_role("button", name="J'ai remis l'objet").click()
        expect(card).to_have_attribute("data-state", "HANDED_OVER")
        card.get_by_role("button", name="Confirmer le retour").click()
        expect(card).to_contain_text("on attend l'autre foyer")
        lender.shot("lender-confirmed-return")

        card = loan_card(borrower, "borrowing")
        expect(card).to_have_attribute("data-state", "HANDED_OVER")
        card.get_by_role("button", name="Confirmer le retour").click()
        expect(card).to_have_attribute("data-state", "RETURNED")
        card.get_by_label("5 sur 5").check()
        card.get_by_label("Commentaire (facultatif)").fill("Parfait, merci !")
        assert axe(borrower, "loans-review") == []
        card.get_by_role("button", name="Envoyer l'avis").click()
        expect(card).to_contain_text("Merci pour votre avis (5 sur 5).")
        borrower.shot("reviewed")

        card = loan_card(lender, "lending")
        expect(card).to_have_attribute("data-state", "RETURNED")
        card.get_by_label("4 sur 5").check()
        card.get_by_role("button", name="Envoyer l'avis").click()
        expect(card).to_contain_text("Merci pour votre avis (4 sur 5).")
        lender.shot("reviewed")


def test_ambassador_hides_a_reported_post(browser: Browser, web_server: Server) -> None:
    title = "Un plombier sérieux et disponible"
    with (
        tab(browser, web_server.http_url, "moderation-member") as member,
        tab(browser, web_server.http_url, "moderation-ambassador") as ambassador,
    ):
        log_in(member, MEMBER)
        post = feed_article(member.page, title)
        post.get_by_role("button", name="Signaler").click()
        post.get_by_label("Pourquoi ?").select_option("SPAM")
        post.get_by_role("button", name="Envoyer le signalement").click()
        expect(post.get_by_role("status")).to_have_text(
            "Merci : un ambassadeur du quartier va regarder."
        )
        member.shot("reported")

        log_in(ambassador, AMBASSADOR)
        page = ambassador.page
        page.get_by_role("link", name=re.compile("Signalements")).click()
        report = page.get_by_test_id("reports").get_by_role("listitem").filter(has_text=title)
        expect(report).to_be_visible()
        ambassador.shot("queue")
        assert axe(ambassador, "moderation") == []
        report.get_by_role("button", name="Masquer").click()
        expect(page.get_by_role("status").filter(has_text="Signalement traité.")).to_be_visible()
        expect(report).to_have_count(0)
        ambassador.shot("hidden")

        member.page.reload()
        expect(member.page.get_by_test_id("feed").get_by_role("article").first).to_be_visible()
        expect(feed_article(member.page, title)).to_have_count(0)
        member.shot("gone-from-feed")


def test_account_screens_are_accessible(browser: Browser, web_server: Server) -> None:
    with tab(browser, web_server.http_url, "account-screens", mobile=True) as visitor:
        page = visitor.page
        visitor.goto("/verifier?token=pas-un-vrai-lien")
        expect(page.get_by_role("alert")).to_have_text(re.compile("Ce lien n'est plus valable"))
        visitor.shot("verify-invalid")
        assert axe(visitor, "verify-email") == []
        visitor.goto("/reinitialiser?token=pas-un-vrai-lien")
        page.get_by_label("Nouveau mot de passe").fill("un mot de passe tout neuf")
        page.get_by_role("button", name="Enregistrer le mot de passe").click()
        expect(page.locator("#reset-password-error")).to_have_text(
            re.compile("Ce lien n'est plus valable")
        )
        assert axe(visitor, "reset-password") == []
        # The administrator has no household yet: the first screen asks where they live.
        visitor.goto("/connexion")
        page.get_by_label("Adresse e-mail").fill("admin@demo.voisinage.fr")
        page.get_by_label("Mot de passe").fill("voisinage-demo")
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Où habitez-vous ?")
        expect(page.locator(".map-canvas[data-ready=true]")).to_have_count(1)
        page.get_by_role("button", name="Rejoindre mon quartier").click()
        expect(page.get_by_text("Touchez la carte pour choisir").last).to_be_visible()
        visitor.shot("household")
        assert axe(visitor, "household") == []
