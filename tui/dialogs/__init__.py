"""The mail-server screen's dialogs, one per module, each a typed ModalScreen.

Every button has a key (shown in its label) and Esc always backs out, so no
dialog needs the mouse or an F-key.  ``base.Dialog`` is the common box.
"""

from tui.dialogs.base import Dialog, Words, YesNoDialog, words
from tui.dialogs.choice import ChoiceDialog, ConflictDialog, QuitDialog
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.help import HelpScreen, key_table
from tui.dialogs.oauth import ChecklistDialog, DeviceLoginDialog, PresetDialog
from tui.dialogs.queue import QueueDialog
from tui.dialogs.save import SaveDialog, diff_text
from tui.dialogs.test_mail import STATUS_MARK, TestMailDialog
from tui.dialogs.transcript import AskPathDialog, TranscriptScreen

__all__ = [
    "AskPathDialog", "ChecklistDialog", "ChoiceDialog", "ConfirmDialog", "ConflictDialog",
    "DeviceLoginDialog", "Dialog", "HelpScreen", "PresetDialog", "QueueDialog", "QuitDialog",
    "STATUS_MARK", "SaveDialog", "TestMailDialog", "TranscriptScreen", "Words", "YesNoDialog",
    "diff_text", "key_table", "words",
]
