/*
 * Teller: put the candidates of a ranked ballot in order by dragging them,
 * or with each candidate's "Move up" and "Move down" buttons.
 *
 * Progressive enhancement. The ballot is a list of number inputs that work
 * on their own: without this script the voter types 1, 2, 3 ... and the
 * server reads exactly those. The script only ever writes those numbers, so
 * what is posted is what the voter sees, whichever way they ranked.
 *
 * The list is split by a divider: candidates above it are ranked, in order,
 * and numbered 1, 2, 3 ...; those below it are not ranked. Moving a
 * candidate across the divider ranks or unranks them. Typing a number sorts
 * the list to match once the input is left (on "change", not on each key,
 * so the row does not jump away while the voter types).
 *
 * No inline styles and no inline script (the site's Content-Security-Policy
 * allows neither): the look is in teller.css, under "ranking".
 */
(function () {
  "use strict";

  var list = document.querySelector("[data-ranking]");
  if (!list || !list.querySelector("[data-rank-row]")) {
    return;
  }

  function rows() {
    return Array.prototype.slice.call(list.querySelectorAll("[data-rank-row]"));
  }
  function numberInput(row) {
    return row.querySelector("input.rank");
  }
  function nameOf(row) {
    return row.getAttribute("data-name");
  }
  // The rank typed in a row, or null if it is blank or not a positive number.
  function typedRank(row) {
    var value = numberInput(row).value.trim();
    if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
      return null;
    }
    return Number(value);
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  list.classList.add("ranking-enhanced");

  var help = make(
    "p",
    "ranking-help",
    "Or put them in order: drag a candidate by the handle on its left, or use its " +
      "Move up and Move down buttons. The numbers change to match."
  );
  help.id = "ranking-help";
  var legend = list.querySelector("legend");
  legend.parentNode.insertBefore(help, legend.nextSibling);

  var divider = make("p", "rank-divider", "Not ranked");
  divider.setAttribute("data-rank-divider", "");
  // Read out after each move, so a keyboard or screen reader user hears
  // where the candidate went without hunting for it.
  var status = make("p", "visually-hidden");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  list.parentNode.insertBefore(status, list.nextSibling);

  function moveButton(row, direction) {
    var button = make("button", "secondary rank-move");
    button.type = "button";
    button.setAttribute("data-move", direction);
    var words = direction === "up" ? "Move up" : "Move down";
    button.textContent = words;
    // "Move up: Ann Archer". The visible words come first in the name, so
    // a speech user can say what they see (WCAG 2.5.3, label in name).
    button.setAttribute("aria-label", words + ": " + nameOf(row));
    button.addEventListener("click", function () {
      move(row, direction);
    });
    return button;
  }

  rows().forEach(function (row) {
    var handle = make("span", "rank-handle");
    // The handle is for pointers; the buttons do the same for keyboards and
    // screen readers, so the handle itself is hidden from them.
    handle.setAttribute("aria-hidden", "true");
    handle.addEventListener("pointerdown", function (event) {
      startDrag(row, event);
    });
    row.insertBefore(handle, row.firstChild);
    var moves = make("div", "rank-moves");
    moves.appendChild(moveButton(row, "up"));
    moves.appendChild(moveButton(row, "down"));
    row.appendChild(moves);
    numberInput(row).addEventListener("change", sortToNumbers);
  });

  // Rows above the divider, in order.
  function rankedRows() {
    var ranked = [];
    for (var node = divider.previousElementSibling; node; node = node.previousElementSibling) {
      if (node.hasAttribute("data-rank-row")) {
        ranked.unshift(node);
      }
    }
    return ranked;
  }
  function unrankedRows() {
    var unranked = [];
    for (var node = divider.nextElementSibling; node; node = node.nextElementSibling) {
      if (node.hasAttribute("data-rank-row")) {
        unranked.push(node);
      }
    }
    return unranked;
  }

  // Puts the rows in the DOM as ranked, divider, unranked. Moving a focused
  // element in the DOM drops its focus, so it is given back afterwards.
  function arrange(ranked, unranked) {
    var focused = document.activeElement;
    ranked.concat([divider], unranked).forEach(function (node) {
      list.appendChild(node);
    });
    divider.hidden = unranked.length === 0;
    if (focused && focused !== document.activeElement && list.contains(focused)) {
      focused.focus();
    }
    refreshButtons();
  }

  function refreshButtons() {
    var ranked = rankedRows();
    rows().forEach(function (row) {
      var position = ranked.indexOf(row);
      row.classList.toggle("is-ranked", position >= 0);
      row.querySelector('[data-move="up"]').disabled = position === 0;
      // An unranked candidate is already as low as a candidate can go.
      row.querySelector('[data-move="down"]').disabled = position < 0;
    });
  }

  // Writes 1, 2, 3 ... into the ranked rows and blanks the rest.
  function writeNumbers() {
    rankedRows().forEach(function (row, index) {
      numberInput(row).value = String(index + 1);
    });
    unrankedRows().forEach(function (row) {
      numberInput(row).value = "";
    });
  }

  function announce(row) {
    var position = rankedRows().indexOf(row);
    status.textContent =
      position >= 0
        ? nameOf(row) + " is now number " + (position + 1) + "."
        : nameOf(row) + " is no longer ranked.";
  }

  // The order the typed numbers give: numbered rows by their number (rows
  // with the same number keep their order; the server will ask the voter to
  // fix that), then the rest.
  function sortToNumbers() {
    var all = rows();
    var ranked = all.filter(function (row) {
      return typedRank(row) !== null;
    });
    ranked.sort(function (a, b) {
      return typedRank(a) - typedRank(b) || all.indexOf(a) - all.indexOf(b);
    });
    arrange(
      ranked,
      all.filter(function (row) {
        return typedRank(row) === null;
      })
    );
  }

  function move(row, direction) {
    var ranked = rankedRows();
    var unranked = unrankedRows();
    var position = ranked.indexOf(row);
    if (direction === "up") {
      if (position > 0) {
        ranked.splice(position, 1);
        ranked.splice(position - 1, 0, row);
      } else if (position < 0) {
        // Up from below the divider: the candidate joins the ranking last.
        unranked.splice(unranked.indexOf(row), 1);
        ranked.push(row);
      } else {
        return;
      }
    } else {
      if (position < 0) {
        return;
      }
      ranked.splice(position, 1);
      if (position < ranked.length) {
        ranked.splice(position + 1, 0, row);
      } else {
        // Down from last place: off the ranking, first below the divider.
        unranked.unshift(row);
      }
    }
    arrange(ranked, unranked);
    writeNumbers();
    var button = row.querySelector('[data-move="' + direction + '"]');
    var other = row.querySelector('[data-move="' + (direction === "up" ? "down" : "up") + '"]');
    (button.disabled ? other : button).focus();
    announce(row);
  }

  // --- dragging, with a mouse, a pen or a finger ---------------------------
  // Pointer events rather than HTML drag and drop, which phones do not
  // support well. The row follows the pointer through the list; letting go
  // above the divider ranks the candidate there, below it unranks them.
  var dragging = null;

  function startDrag(row, event) {
    if (event.button !== 0) {
      return;
    }
    event.preventDefault();
    dragging = row;
    row.classList.add("is-dragging");
    // The divider is a place to drop on even when every candidate is ranked.
    divider.hidden = false;
    // Listened for on the document, not captured by the handle: the row
    // moves through the DOM as it is dragged, and moving an element drops
    // its pointer capture.
    document.addEventListener("pointermove", dragMove);
    document.addEventListener("pointerup", dragEnd);
    document.addEventListener("pointercancel", dragEnd);
  }

  function dragMove(event) {
    if (!dragging) {
      return;
    }
    var row = dragging;
    // The first row or divider whose middle is below the pointer: the
    // dragged row goes just before it.
    var target = null;
    var nodes = rows().concat([divider]);
    nodes.sort(function (a, b) {
      return a.getBoundingClientRect().top - b.getBoundingClientRect().top;
    });
    for (var i = 0; i < nodes.length; i += 1) {
      if (nodes[i] === row) {
        continue;
      }
      var box = nodes[i].getBoundingClientRect();
      if (event.clientY < box.top + box.height / 2) {
        target = nodes[i];
        break;
      }
    }
    if (target !== row.nextElementSibling) {
      list.insertBefore(row, target);
    }
    // Near the top or bottom of the screen, scroll, so a long list can be
    // dragged through on a phone.
    var edge = 48;
    if (event.clientY < edge) {
      window.scrollBy(0, -16);
    } else if (event.clientY > window.innerHeight - edge) {
      window.scrollBy(0, 16);
    }
  }

  function dragEnd() {
    if (!dragging) {
      return;
    }
    var row = dragging;
    document.removeEventListener("pointermove", dragMove);
    document.removeEventListener("pointerup", dragEnd);
    document.removeEventListener("pointercancel", dragEnd);
    row.classList.remove("is-dragging");
    dragging = null;
    arrange(rankedRows(), unrankedRows());
    writeNumbers();
    announce(row);
  }

  // A ballot sent back to be changed comes with its numbers filled in.
  sortToNumbers();
})();
