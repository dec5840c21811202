"""Command palette provider: one command for every described key binding of the screen under the palette.

Derived from the live bindings (like the help screen), so every action a key can do is also in the palette,
and a new binding shows up without anyone remembering to register it.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.markup import escape


class ScreenActionsProvider(Provider):
    def _commands(self) -> list[tuple[str, str, DOMNode, str]]:
        """(name, help, namespace, action) for the screen's, its focused widget's and the app's bindings."""
        screen = self.screen
        app = self.app
        chain: list[DOMNode] = []
        focused = screen.focused
        if focused is not None:
            chain += [node for node in focused.ancestors_with_self if node is not screen and node is not app]
        chain.append(screen)
        if not screen.is_modal:
            chain.append(app)
        commands: list[tuple[str, str, DOMNode, str]] = []
        seen: set[str] = set()
        for node in chain:
            found: dict[str, tuple[str, str, list[str]]] = {}  # action -> (label, tooltip, keys)
            for key, binding in node._bindings:
                if not binding.description or binding.system:
                    continue
                if app._check_action_state(binding.action, node) is False:
                    continue  # the node says this action does not apply right now
                label, tip, keys = found.setdefault(binding.action, (binding.description, binding.tooltip, []))
                keys.append(app.get_key_display(binding.with_key(key)))
            for action, (label, tip, keys) in found.items():
                if label in seen:  # an inner binding shadows an outer one with the same name
                    continue
                seen.add(label)
                key_text = " / ".join(dict.fromkeys(keys))
                # The palette reads help as markup: the `/` key written as "[/]" would close a tag that is not open.
                help_text = escape(f"{tip}  [{key_text}]" if tip else f"Key: {key_text}")
                commands.append((label, help_text, node, action))
        # The screen's and the app's own commands first; a text box's cursor commands (many, and reachable by
        # their keys anyway) after them, so the palette opens on what calle-tui can do.
        rank = {id(screen): 0, id(app): 1}
        return sorted(commands, key=lambda command: rank.get(id(command[2]), 2))

    async def _run(self, node: DOMNode, action: str) -> None:
        await self.app.run_action(action, node)

    async def discover(self) -> Hits:
        for name, help_text, node, action in self._commands():
            yield DiscoveryHit(name, partial(self._run, node, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, node, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, node, action), help=help_text)
