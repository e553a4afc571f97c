// edgeai web chat. Everything the model says is untrusted text: the page
// builds its DOM with createElement and textContent only (never innerHTML),
// and turns only http(s) URLs into links.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const keyName = 'edgeai-api-key';
  const state = {
    messages: [],      // {role, content} sent back to the model
    controller: null,  // AbortController of the answer being generated
    key: sessionStorage.getItem(keyName) || '',
  };

  // ---- API calls ----------------------------------------------------------

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    if (state.key) h.Authorization = 'Bearer ' + state.key;
    return h;
  }

  // call fetches path; on 401 it asks for the key and tries again.
  async function call(path, init) {
    for (let attempt = 0; ; attempt++) {
      const resp = await fetch(path, Object.assign({ headers: headers(), cache: 'no-store' }, init));
      if (resp.status !== 401 || attempt >= 3) return resp;
      await askKey(state.key ? 'That key was not accepted.' : '');
    }
  }

  async function errorText(resp) {
    try {
      const b = await resp.json();
      if (b && b.error && typeof b.error.message === 'string') return b.error.message;
    } catch (e) { /* not JSON */ }
    return 'HTTP ' + resp.status;
  }

  // ---- the API key --------------------------------------------------------

  let keyWaiters = [];
  function askKey(message) {
    const dlg = $('key-dialog');
    $('key-error').textContent = message || '';
    $('key-input').value = '';
    if (!dlg.open) dlg.showModal();
    $('key-input').focus();
    return new Promise((resolve) => keyWaiters.push(resolve));
  }

  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('key-input').value.trim();
    if (!k) return;
    state.key = k;
    sessionStorage.setItem(keyName, k);
    $('key-dialog').close();
    const w = keyWaiters;
    keyWaiters = [];
    w.forEach((resolve) => resolve());
  });
  $('key-dialog').addEventListener('cancel', (ev) => ev.preventDefault()); // the page cannot work without it

  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(keyName);
    state.key = '';
    setStatus('The API key is forgotten; the next request asks for it.');
  });

  // ---- models -------------------------------------------------------------

  async function loadModels() {
    const resp = await call('/v1/models', { method: 'GET' });
    if (!resp.ok) {
      setStatus('Could not list the models: ' + await errorText(resp), true);
      return;
    }
    const list = await resp.json();
    const sel = $('model');
    sel.replaceChildren();
    for (const m of list.data || []) {
      const o = document.createElement('option');
      o.value = m.id;
      o.textContent = m.id;
      sel.appendChild(o);
    }
    const saved = sessionStorage.getItem('edgeai-model');
    if (saved && [...sel.options].some((o) => o.value === saved)) sel.value = saved;
    setStatus(sel.options.length ? '' : 'This server has no models.');
  }
  $('model').addEventListener('change', () => sessionStorage.setItem('edgeai-model', $('model').value));

  // ---- safe markdown --------------------------------------------------------

  function el(tag, cls) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  // safeURL returns an absolute http(s) URL, or null for anything else
  // (javascript:, data:, relative, malformed).
  function safeURL(raw) {
    const s = raw.trim();
    if (!/^https?:\/\//i.test(s)) return null;
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(parent, label, href) {
    const a = el('a');
    a.href = href;
    a.rel = 'noopener noreferrer nofollow';
    a.target = '_blank';
    inline(label, a, 1);
    parent.appendChild(a);
  }

  // inline renders `code`, **bold**, *em*, [text](http-url) and bare
  // http(s) URLs; everything else, markup included, stays text.
  function inline(text, parent, depth) {
    let plain = '';
    const flush = () => {
      if (plain) parent.appendChild(document.createTextNode(plain));
      plain = '';
    };
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      const rest = text.slice(i);
      let m;
      if (c === '`' && (m = /^`([^`\n]+)`/.exec(rest))) {
        flush();
        const code = el('code');
        code.textContent = m[1];
        parent.appendChild(code);
        i += m[0].length;
        continue;
      }
      if (depth < 4 && c === '*' && (m = /^\*\*(?=\S)([^\n]*?\S)\*\*/.exec(rest))) {
        flush();
        const b = el('strong');
        inline(m[1], b, depth + 1);
        parent.appendChild(b);
        i += m[0].length;
        continue;
      }
      if (depth < 4 && (c === '*' || c === '_') && !/\w/.test(text[i - 1] || '') &&
          (m = (c === '*' ? /^\*(?=\S)([^*\n]*?\S)\*(?!\w)/ : /^_(?=\S)([^_\n]*?\S)_(?!\w)/).exec(rest))) {
        flush();
        const em = el('em');
        inline(m[1], em, depth + 1);
        parent.appendChild(em);
        i += m[0].length;
        continue;
      }
      if (c === '[' && (m = /^\[([^\]\n]*)\]\(([^()\s]*)\)/.exec(rest))) {
        const href = safeURL(m[2]);
        if (href && depth < 4) {
          flush();
          link(parent, m[1] || href, href);
          i += m[0].length;
          continue;
        }
        plain += m[0]; // not a safe link: shown as the text it is
        i += m[0].length;
        continue;
      }
      if ((c === 'h' || c === 'H') && !/\w/.test(text[i - 1] || '') && (m = /^https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]]/i.exec(rest))) {
        const href = safeURL(m[0]);
        if (href) {
          flush();
          const a = el('a');
          a.href = href;
          a.rel = 'noopener noreferrer nofollow';
          a.target = '_blank';
          a.textContent = m[0];
          parent.appendChild(a);
          i += m[0].length;
          continue;
        }
      }
      plain += c;
      i++;
    }
    flush();
  }

  // renderMarkdown replaces container's children with text rendered as a
  // safe subset of Markdown: paragraphs, headings, lists, quotes, fenced
  // code, rules, and the inline forms above.
  function renderMarkdown(text, container) {
    const out = document.createDocumentFragment();
    const lines = text.split('\n');
    let para = null;
    let list = null;
    let quote = null;
    const end = () => { para = null; list = null; quote = null; };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      let m;
      if ((m = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line))) {
        end();
        const fence = m[1];
        const pre = el('pre');
        const code = el('code');
        if (m[2]) code.dataset.lang = m[2];
        const body = [];
        for (i++; i < lines.length && !lines[i].trim().startsWith(fence); i++) body.push(lines[i]);
        code.textContent = body.join('\n');
        pre.appendChild(code);
        out.appendChild(pre);
        continue;
      }
      if (/^\s*$/.test(line)) { end(); continue; }
      if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
        end();
        const h = el('h' + Math.min(6, m[1].length + 2));
        inline(m[2], h, 0);
        out.appendChild(h);
        continue;
      }
      if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { end(); out.appendChild(el('hr')); continue; }
      if ((m = /^\s*>\s?(.*)$/.exec(line))) {
        if (!quote) { end(); quote = el('blockquote'); out.appendChild(quote); }
        else quote.appendChild(el('br'));
        inline(m[1], quote, 0);
        continue;
      }
      const ul = /^\s*[-*+]\s+(.*)$/.exec(line);
      const ol = ul ? null : /^\s*(\d{1,9})[.)]\s+(.*)$/.exec(line);
      if (ul || ol) {
        const tag = ul ? 'ul' : 'ol';
        if (!list || list.tagName.toLowerCase() !== tag) {
          end();
          list = el(tag);
          if (ol && ol[1] !== '1') list.start = parseInt(ol[1], 10);
          out.appendChild(list);
        }
        const li = el('li');
        inline(ul ? ul[1] : ol[2], li, 0);
        list.appendChild(li);
        continue;
      }
      if (list && /^\s{2,}\S/.test(line)) { // a list item's continuation
        const li = list.lastChild;
        li.appendChild(el('br'));
        inline(line.trim(), li, 0);
        continue;
      }
      if (!para) { end(); para = el('p'); out.appendChild(para); }
      else para.appendChild(el('br'));
      inline(line, para, 0);
    }
    container.replaceChildren(out);
  }

  // ---- the conversation ---------------------------------------------------

  function setStatus(text, isError) {
    const s = $('status');
    s.textContent = text;
    s.classList.toggle('error', !!isError);
  }

  function addMessage(role, text) {
    const box = el('article', 'msg ' + role);
    const who = el('h2', 'who');
    who.textContent = role === 'user' ? 'You' : 'Model';
    box.appendChild(who);
    const view = { box, reasoning: null, reasoningBody: null, content: el('div', 'content'), actions: null };
    if (role === 'assistant') {
      view.reasoning = el('details', 'reasoning');
      view.reasoning.hidden = true;
      const sum = el('summary');
      sum.textContent = 'Reasoning';
      view.reasoningBody = el('div', 'reasoning-body');
      view.reasoning.append(sum, view.reasoningBody);
      box.appendChild(view.reasoning);
    }
    box.appendChild(view.content);
    if (role === 'assistant') {
      view.actions = el('div', 'actions');
      const copy = el('button', 'copy');
      copy.type = 'button';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy this answer');
      copy.disabled = true;
      copy.addEventListener('click', () => copyText(view.text || ''));
      view.copy = copy;
      view.actions.appendChild(copy);
      box.appendChild(view.actions);
    } else {
      renderMarkdown(text, view.content);
    }
    $('log').appendChild(box);
    box.scrollIntoView({ block: 'end' });
    return view;
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied.');
      return;
    } catch (e) { /* no clipboard API (plain http on a LAN): fall back */ }
    const ta = el('textarea', 'visually-hidden');
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    setStatus(ok ? 'Copied.' : 'Copying is not allowed here; select the text instead.', !ok);
  }

  function busy(on) {
    $('send').disabled = on;
    $('stop').disabled = !on;
    $('log').setAttribute('aria-busy', on ? 'true' : 'false');
  }

  // readEvents yields the data of each server-sent event of a response.
  async function* readEvents(resp) {
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
        if (data.length) yield data.join('\n');
      }
    }
  }

  async function send(text) {
    const model = $('model').value;
    if (!model) { setStatus('No model to talk to.', true); return; }
    state.messages.push({ role: 'user', content: text });
    addMessage('user', text);
    const view = addMessage('assistant', '');
    view.text = '';
    let reasoning = '';
    let frame = 0;
    const paint = () => {
      frame = 0;
      renderMarkdown(view.text, view.content);
      if (reasoning) {
        view.reasoning.hidden = false;
        view.reasoningBody.textContent = reasoning;
      }
      view.box.scrollIntoView({ block: 'end' });
    };
    const repaint = () => { if (!frame) frame = requestAnimationFrame(paint); };

    const body = { model, stream: true, messages: [] };
    const sys = $('system').value.trim();
    if (sys) body.messages.push({ role: 'system', content: sys });
    body.messages.push(...state.messages);
    const temp = $('temperature').value;
    if (temp !== '') body.temperature = Number(temp);
    const maxTok = $('max-tokens').value;
    if (maxTok !== '') body.max_tokens = Number(maxTok);

    const ctrl = new AbortController();
    state.controller = ctrl;
    busy(true);
    setStatus('Generating…');
    let outcome = '';
    try {
      const resp = await call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(body), signal: ctrl.signal });
      if (!resp.ok) throw new Error(await errorText(resp));
      for await (const data of readEvents(resp)) {
        if (data === '[DONE]') { outcome = outcome || 'done'; break; }
        let chunk;
        try { chunk = JSON.parse(data); } catch (e) { continue; }
        if (chunk.error) throw new Error(chunk.error.message || 'the server reported an error');
        const choice = chunk.choices && chunk.choices[0];
        if (!choice) continue;
        const d = choice.delta || {};
        if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content;
        if (typeof d.content === 'string') view.text += d.content;
        if (choice.finish_reason) outcome = choice.finish_reason;
        repaint();
      }
      setStatus(outcome === 'length' ? 'The answer reached the token limit.' : '');
    } catch (e) {
      if (ctrl.signal.aborted) {
        outcome = 'stopped';
        setStatus('Stopped.');
      } else {
        setStatus('Error: ' + e.message, true);
        outcome = 'error';
      }
    } finally {
      state.controller = null;
      busy(false);
      // A frame still pending would repaint after the note below and wipe it.
      if (frame) cancelAnimationFrame(frame);
      paint();
      view.copy.disabled = view.text === '';
      view.box.dataset.outcome = outcome;
      if (outcome === 'stopped') {
        const note = el('p', 'note');
        note.textContent = '(stopped)';
        view.content.appendChild(note);
      }
      if (view.text) state.messages.push({ role: 'assistant', content: view.text });
      $('prompt').focus();
    }
  }

  $('composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (state.controller) return;
    const text = $('prompt').value;
    if (!text.trim()) return;
    $('prompt').value = '';
    send(text);
  });
  $('prompt').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('composer').requestSubmit();
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.controller) state.controller.abort();
  });
  $('stop').addEventListener('click', () => { if (state.controller) state.controller.abort(); });
  $('new-chat').addEventListener('click', () => {
    if (state.controller) state.controller.abort();
    state.messages = [];
    $('log').replaceChildren();
    setStatus('New chat.');
    $('prompt').focus();
  });
  $('settings-toggle').addEventListener('click', () => {
    const s = $('settings');
    s.hidden = !s.hidden;
    $('settings-toggle').setAttribute('aria-expanded', String(!s.hidden));
  });

  // For tests and curious people: the renderer, without any network.
  window.edgeaiRender = (text) => {
    const div = el('div', 'content');
    renderMarkdown(String(text), div);
    return div;
  };

  loadModels().catch((e) => setStatus('Could not reach the server: ' + e.message, true));
})();
