/* memviz: the --html page. One self-contained file: the steps as embedded
 * JSON (every <, > and & is escaped as \u00XX, so the data cannot close the
 * <script> element), inline CSS and JS, no network. A slider walks the
 * steps; variables and heap blocks are boxes, and SVG arrows go from each
 * owner to its block and from each borrow to the variable it borrows. */
#include <string.h>

#include "mv.h"

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>memviz</title>\n<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}\n"
    "h1{font-size:18px;margin:0 0 8px}#bar{display:flex;gap:12px;align-items:center}\n"
    "#slider{flex:1}#label{font-family:monospace;font-weight:bold}\n"
    "#main{display:flex;gap:24px;margin-top:12px;position:relative;padding-right:90px}\n"
    "#src{font-family:monospace;white-space:pre;background:#fff;border:1px solid #ccc;"
    "padding:8px;min-width:260px;max-height:640px;overflow:auto}\n"
    "#src div.cur{background:#ffe9a8}\n"
    ".col{min-width:260px}.col h2{font-size:15px;margin:4px 0}\n"
    ".frame{border:2px solid #4a6fa5;border-radius:6px;margin-bottom:10px;padding:4px 6px;"
    "background:#eef3fb}\n.frame .fn{font-weight:bold;color:#4a6fa5}\n"
    ".var,.blk{font-family:monospace;border:1px solid #888;border-radius:4px;margin:4px 0;"
    "padding:3px 6px;background:#fff}\n"
    ".var.moved{color:#999;text-decoration:line-through;border-style:dashed}\n"
    ".var.ref{border-color:#c08a00}.blk{border-color:#2e7d32;background:#f1f8f1}\n"
    ".st{font-size:12px;color:#555;margin-left:6px}\n"
    "#events{margin-top:10px;font-family:monospace}\n"
    "#events div.free,#events div.leak{color:#b00020}#events div.print{color:#1a5fb4}\n"
    "svg#arrows{position:absolute;left:0;top:0;pointer-events:none;overflow:visible}\n"
    "</style></head><body>\n";

static const char page_body[] =
    "<div id=\"bar\"><button id=\"prev\">&larr;</button>"
    "<input type=\"range\" id=\"slider\" min=\"0\" value=\"0\">"
    "<button id=\"next\">&rarr;</button><span id=\"label\"></span></div>\n"
    "<div id=\"main\"><div id=\"src\"></div>"
    "<div class=\"col\"><h2>Stack</h2><div id=\"stack\"></div></div>"
    "<div class=\"col\"><h2>Heap</h2><div id=\"heap\"></div><div id=\"events\"></div></div>"
    "<svg id=\"arrows\"><defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
    "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" "
    "fill=\"#555\"/></marker></defs></svg></div>\n"
    "<script>\n"
    "const $=id=>document.getElementById(id);\n"
    "function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;"
    "if(text!==undefined)e.textContent=text;return e;}\n"
    "const src=$('src');SOURCE.forEach((l,i)=>{const d=el('div','',(String(i+1).padStart(3)"
    "+'  ')+l);d.id='L'+(i+1);src.appendChild(d);});\n"
    "const slider=$('slider');slider.max=STEPS.length-1;\n"
    "function arrow(svg,a,b,color,dash){const m=$('main').getBoundingClientRect();"
    "const r1=a.getBoundingClientRect(),r2=b.getBoundingClientRect();"
    "const x1=r1.right-m.left,y1=r1.top+r1.height/2-m.top;"
    "const right=r2.left>r1.right;const x2=(right?r2.left:r2.right)-m.left,"
    "y2=r2.top+r2.height/2-m.top;"
    "const p=document.createElementNS('http://www.w3.org/2000/svg','path');"
    "const cx=right?(x1+x2)/2:Math.max(x1,x2)+60;"
    "p.setAttribute('d','M'+x1+','+y1+' C'+cx+','+y1+' '+cx+','+y2+' '+x2+','+y2);"
    "p.setAttribute('fill','none');p.setAttribute('stroke',color);"
    "p.setAttribute('stroke-width','2');if(dash)p.setAttribute('stroke-dasharray','5,4');"
    "p.setAttribute('marker-end','url(#ah)');svg.appendChild(p);}\n"
    "function show(i){const s=STEPS[i];slider.value=i;"
    "$('label').textContent='step '+s.step+'/'+STEPS.length+(s.line?' \\u00b7 line '+s.line:'')"
    "+': '+s.label;"
    "document.querySelectorAll('#src div.cur').forEach(d=>d.classList.remove('cur'));"
    "if(s.line&&$('L'+s.line))$('L'+s.line).classList.add('cur');"
    "const st=$('stack');st.textContent='';const vars={};"
    "s.stack.forEach(f=>{const fd=el('div','frame');fd.appendChild(el('div','fn',f.frame));"
    "f.vars.forEach(v=>{const moved=!v.state.startsWith('owned')&&v.kind!=='ref'"
    "&&v.kind!=='int'&&v.kind!=='value'||v.state.startsWith('moved')||"
    "v.state.startsWith('dropped');"
    "const d=el('div','var'+(moved?' moved':'')+(v.kind==='ref'?' ref':''),v.name+' = '+v.value);"
    "d.appendChild(el('span','st',v.state));fd.appendChild(d);vars[v.uid]={d:d,v:v};});"
    "st.appendChild(fd);});"
    "const hp=$('heap');hp.textContent='';const blks={};"
    "if(!s.heap.length)hp.appendChild(el('div','st','(empty)'));"
    "s.heap.forEach(b=>{const d=el('div','blk','#'+b.id+' '+b.kind+' '+b.size+' B = '+b.value);"
    "d.appendChild(el('span','st',b.kind==='rc'?'rc='+b.rc+' ('+b.owner+')':'owner: '+"
    "(b.owner||'-')));hp.appendChild(d);blks[b.id]=d;});"
    "const ev=$('events');ev.textContent='';s.events.forEach(e=>ev.appendChild(el('div',"
    "e.kind,e.kind+': '+e.text)));"
    "const svg=$('arrows');svg.querySelectorAll('path').forEach(p=>p.remove());"
    "const m=$('main').getBoundingClientRect();svg.setAttribute('width',m.width);"
    "svg.setAttribute('height',m.height);"
    "Object.values(vars).forEach(({d,v})=>{if(v.block&&blks[v.block])arrow(svg,d,blks[v.block],"
    "'#2e7d32',false);if(v.target&&vars[v.target])arrow(svg,d,vars[v.target].d,"
    "v.mut?'#b00020':'#c08a00',true);});"
    "s.heap.forEach(b=>{if(b.inner&&blks[b.inner])arrow(svg,blks[b.id],blks[b.inner],"
    "'#2e7d32',false);});}\n"
    "slider.oninput=()=>show(+slider.value);"
    "$('prev').onclick=()=>show(Math.max(0,+slider.value-1));"
    "$('next').onclick=()=>show(Math.min(STEPS.length-1,+slider.value+1));"
    "document.onkeydown=e=>{if(e.key==='ArrowRight')$('next').click();"
    "if(e.key==='ArrowLeft')$('prev').click();};\n"
    "const q=new URLSearchParams(location.search).get('step');"
    "show(q?Math.min(STEPS.length-1,Math.max(0,q-1)):0);\n"
    "</script></body></html>\n";

int mv_html_write(FILE *out, const mv_html_ctx *h, const mv_program *p, const char *file) {
  rv_buf b;
  rv_buf_init(&b, NULL);
  int rc = rv_buf_append(&b, page_head, sizeof(page_head) - 1);
  static const char t1[] = "<h1>memviz: ";
  rc = rc ? rc : rv_buf_append(&b, t1, sizeof(t1) - 1);
  for (const char *c = file; *c && rc == RV_OK; c++) { /* the file name, HTML-escaped */
    const char *esc = *c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;" : NULL;
    rc = esc ? rv_buf_append(&b, esc, strlen(esc)) : rv_buf_push(&b, (uint8_t)*c);
  }
  static const char t2[] = "</h1>\n<script>\nconst SOURCE=[";
  rc = rc ? rc : rv_buf_append(&b, t2, sizeof(t2) - 1);
  for (uint32_t i = 1; i <= rv_vec_len(&p->lines) && rc == RV_OK; i++) {
    size_t len;
    const char *line = mv_program_line(p, i, &len);
    rc = i > 1 ? rv_buf_push(&b, ',') : RV_OK;
    rc = rc ? rc : mv_json_str(&b, line, len);
  }
  static const char t3[] = "];\nconst STEPS=[";
  rc = rc ? rc : rv_buf_append(&b, t3, sizeof(t3) - 1);
  rc = rc ? rc : rv_buf_append(&b, h->steps.data ? (const char *)h->steps.data : "", h->steps.len);
  static const char t4[] = "];\n</script>\n";
  rc = rc ? rc : rv_buf_append(&b, t4, sizeof(t4) - 1);
  rc = rc ? rc : rv_buf_append(&b, page_body, sizeof(page_body) - 1);
  if (rc == RV_OK && fwrite(b.data, 1, b.len, out) != b.len) {
    rc = RV_EIO;
  }
  rv_buf_free(&b);
  return rc;
}
